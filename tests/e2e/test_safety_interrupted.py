"""Interrupted runs: a deploy killed at any point is finished by the next one, and the one
after that changes nothing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import (
    assert_converged,
    journal,
    restore,
    run_pyinfra_cli,
    start_pyinfra_cli,
)
from testinfra.host import Host

CHANGE = {"loki_retention": "360h"}
KILL_WAIT = 60.0


def _after(seconds: float) -> Callable[[Host], bool]:
    started = time.monotonic()
    return lambda host: time.monotonic() - started >= seconds


def _once_exists(path: str) -> Callable[[Host], bool]:
    return lambda host: host.run(f"test -e {path}").rc == 0


KILL_POINTS = {
    "two seconds in": lambda: _after(2.0),
    "once files are staged": lambda: _once_exists("/etc/loki/.staged"),
    "once the activation has begun": lambda: _once_exists("/etc/loki/.pending"),
}


def _kill_when(process: Any, host: Host, condition: Callable[[Host], bool]) -> bool:
    """SIGKILL the run's whole process group once `condition` holds; False if it ended first."""
    deadline = time.monotonic() + KILL_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if condition(host):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return True
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    raise AssertionError(f"the kill point was not reached in {KILL_WAIT:.0f} s")


@pytest.mark.parametrize("point", list(KILL_POINTS), ids=str)
def test_a_deploy_killed_midway_is_finished_by_the_next_run(
    point: str, harness_state: dict[str, Any], safety_host: Host
) -> None:
    inventory = harness_state["inventory"]
    assert_converged(inventory, "before the interrupted run")

    process = start_pyinfra_cli(inventory, data=CHANGE)
    killed = _kill_when(process, safety_host, KILL_POINTS[point]())
    assert killed, f"the run finished before it could be killed {point}"
    # Whatever the killed run left running on the host ends or is superseded by the next run.
    finishing = run_pyinfra_cli(inventory, data=CHANGE)
    after = run_pyinfra_cli(inventory, data=CHANGE)

    assert finishing.exit_code == 0, finishing.describe()
    assert after.exit_code == 0 and after.changed == 0, "not finished" + after.describe()
    assert safety_host.service("loki").is_running, journal(safety_host, "loki")
    assert "retention_period: 360h" in safety_host.file("/etc/loki/loki.yaml").content_string
    assert not safety_host.file("/etc/loki/.pending").exists
    assert not safety_host.file("/etc/loki/.staged").exists
    restore(inventory)


def test_a_fresh_install_killed_midway_is_finished_by_the_next_run(
    harness_state: dict[str, Any], safety_host: Host
) -> None:
    inventory = harness_state["inventory"]
    assert_converged(inventory, "before the interrupted install")
    removed = run_pyinfra_cli(
        inventory, deploy="deploys/uninstall.py", extra_args=["--limit", "obs-safety"]
    )
    assert removed.exit_code == 0, removed.describe()
    # uninstall removes every component of the host; reinstall all, killed once tempo's
    # install tree has arrived.
    process = start_pyinfra_cli(inventory)
    assert _kill_when(process, safety_host, _once_exists("/opt/tempo/current")), "run ended first"

    finishing = run_pyinfra_cli(inventory)

    assert finishing.exit_code == 0, finishing.describe()
    for unit in ("mimir", "loki", "tempo", "prometheus", "grafana", "redis_exporter"):
        assert safety_host.service(unit).is_running, journal(safety_host, unit)
    assert_converged(inventory, "after the interrupted install was finished")
