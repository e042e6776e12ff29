"""pyinfra settings for every run from this directory (pyinfra executes ./config.py before
it reads the inventory).

- A host that fails stops the whole run: with ``--serial`` a change that fails on one host
  never reaches the next, and in parallel runs no new operation starts on other hosts.
- A ``--limit`` (or ``--exclude``) that leaves no host is refused. pyinfra itself would exit
  0 having done nothing, which hides a typo in a host or group name.
"""

from pyinfra import config
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import State

config.FAIL_PERCENT = 0


def _refusing_an_empty_limit(init):
    def init_with_hosts(self, inventory, config, initial_limit=None):
        # The CLI passes None when no --limit/--exclude was given, a list of hosts otherwise.
        if initial_limit is not None and not initial_limit:
            raise PyinfraError(
                "--limit/--exclude: the pattern matches no host of the inventory; "
                "nothing was deployed"
            )
        return init(self, inventory, config, initial_limit=initial_limit)

    init_with_hosts.refuses_empty_limit = True
    return init_with_hosts


# TODO: pyinfra has no hook for this; the wrapper relies on State.init receiving the
# limit, true of pyinfra 3 (pinned <4 in pyproject.toml) and checked by a unit test.
if not getattr(State.init, "refuses_empty_limit", False):
    State.init = _refusing_an_empty_limit(State.init)
