"""The whole GatewayZ observability stack: ``pyinfra inventories/<env>.py deploys/stack.py``.

Each host gets the components of the role groups it is in (``prometheus``, ``mimir``,
``loki``, ``tempo``, ``redis_exporter``, ``grafana``). A re-run on a converged host issues
no command and restarts nothing; on a drifted host it repairs what differs.

Data keys: every key is declared, with its one default and meaning, in
``deploys/settings.py`` (stack-wide) and in each component's module; README lists them.
"""

from pyinfra import state

from deploys.orchestration import deploy_stack

deploy_stack(state)
