"""The safety scenario's verify stage (molecule/safety/molecule.yml).

The harness gives pytest one path, so this module gathers the tests and fixtures of the topic
modules, in the order they must run: uninstalling, which tears the stack down and converges it
again from scratch, comes last. Run a topic module on its own by naming it; do not name this
module together with the topic modules, or their tests run twice.
"""

from __future__ import annotations

import test_safety_drift
import test_safety_hardening
import test_safety_input
import test_safety_interrupted
import test_safety_rollout
import test_safety_secrets
import test_safety_uninstall

TOPICS = (
    test_safety_hardening,
    test_safety_input,
    test_safety_drift,
    test_safety_rollout,
    test_safety_secrets,
    test_safety_interrupted,
    test_safety_uninstall,
)


def _gather() -> None:
    namespace = globals()
    for module in TOPICS:
        for name, value in vars(module).items():
            if name.startswith("__") or name in ("annotations",):
                continue
            if name.startswith("test_") and name in namespace:
                raise AssertionError(f"{module.__name__}.{name} is defined twice in the scenario")
            namespace.setdefault(name, value)


_gather()
