"""Remove the stack from the hosts: ``pyinfra inventories/<env>.py deploys/uninstall.py``.

Each host loses the components of its role groups: units stopped, disabled and deleted,
install trees, configuration, users and groups removed. Data under ``/var/lib/<component>``
is kept unless ``--data uninstall_remove_data=true`` is given. Running it again changes
nothing.

+ uninstall_remove_data: also delete each component's data directory (default false)
+ uninstall_components: the components to remove (default: those of the host's role groups)
"""

from pyinfra import host

from deploys.errors import DataError
from deploys.orchestration import COMPONENTS
from deploys.service import removed_service

remove_data = host.data.get("uninstall_remove_data", False) is True
# By default the components of the host's role groups; a list names them instead, e.g. a
# component the host was taken out of the role group of.
selected = host.data.get("uninstall_components") or [
    c.name for c in COMPONENTS if c.name in host.groups
]
unknown = sorted(set(selected) - {c.name for c in COMPONENTS})
if unknown:
    raise DataError(f"uninstall_components: {unknown[0]}: not a component of the stack")

for component in reversed(COMPONENTS):
    if component.name in selected:
        removed_service(
            name=f"{component.name}: remove", service=component.name, remove_data=remove_data
        )
