"""Remove the stack from the hosts: ``pyinfra inventories/<env>.py deploys/uninstall.py``.

Each host loses the components of its role groups: units stopped, disabled and deleted,
install trees, configuration, users and groups removed. Data under ``/var/lib/<component>``
is kept unless ``--data uninstall_remove_data=true`` is given. Running it again changes
nothing.

+ uninstall_remove_data: also delete each component's data directory (default false)
"""

from pyinfra import host

from deploys.orchestration import COMPONENTS
from deploys.service import removed_service

remove_data = host.data.get("uninstall_remove_data", False) is True

for component in reversed(COMPONENTS):
    if component.name in host.groups:
        removed_service(
            name=f"{component.name}: remove", service=component.name, remove_data=remove_data
        )
