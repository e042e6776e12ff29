"""Uninstall: the stack leaves the host (data kept unless asked), a second removal changes
nothing, and a converge from scratch afterwards is idempotent. Runs last: it tears down."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_support import STACK_UNITS, PyinfraRun, assert_converged, run_pyinfra_cli
from testinfra.host import Host

UNINSTALL = "deploys/uninstall.py"


@pytest.fixture(scope="module")
def uninstalled(harness_state: dict[str, Any], safety_host: Host) -> dict[str, Any]:
    inventory = harness_state["inventory"]
    first = run_pyinfra_cli(inventory, deploy=UNINSTALL)
    left = {
        unit: {
            path: safety_host.file(path).exists
            for path in (f"/etc/systemd/system/{unit}.service", f"/opt/{unit}", f"/etc/{unit}")
        }
        for unit in STACK_UNITS
    }
    users = {unit: safety_host.user(unit).exists for unit in STACK_UNITS}
    data = {unit: safety_host.file(f"/var/lib/{unit}").is_directory for unit in STACK_UNITS}
    loaded = safety_host.run("systemctl list-units --all --plain --no-legend").stdout
    second = run_pyinfra_cli(inventory, deploy=UNINSTALL)
    return {
        "first": first,
        "second": second,
        "left": left,
        "users": users,
        "data": data,
        "loaded": loaded,
    }


def test_uninstall_removes_units_install_trees_configuration_and_users(
    uninstalled: dict[str, Any],
) -> None:
    first: PyinfraRun = uninstalled["first"]
    assert first.exit_code == 0 and first.changed > 0, first.describe()
    left = {
        unit: [p for p, exists in paths.items() if exists]
        for unit, paths in uninstalled["left"].items()
    }
    assert not any(left.values()), f"left behind: {left}"
    assert not any(uninstalled["users"].values()), f"users left: {uninstalled['users']}"
    for unit in STACK_UNITS:
        assert f"{unit}.service" not in uninstalled["loaded"], f"{unit}.service is still loaded"


def test_uninstall_keeps_the_data_directories(uninstalled: dict[str, Any]) -> None:
    assert all(uninstalled["data"].values()), f"data directories: {uninstalled['data']}"


def test_a_second_uninstall_changes_nothing(uninstalled: dict[str, Any]) -> None:
    second: PyinfraRun = uninstalled["second"]
    assert second.exit_code == 0 and second.changed == 0, second.describe()


def test_uninstall_with_remove_data_deletes_the_data_directories(
    uninstalled: dict[str, Any], harness_state: dict[str, Any], safety_host: Host
) -> None:
    run = run_pyinfra_cli(
        harness_state["inventory"], deploy=UNINSTALL, data={"uninstall_remove_data": True}
    )

    assert run.exit_code == 0, run.describe()
    kept = [unit for unit in STACK_UNITS if safety_host.file(f"/var/lib/{unit}").exists]
    assert not kept, f"data kept for {kept}"


def test_a_converge_from_scratch_after_uninstall_is_idempotent(
    uninstalled: dict[str, Any], harness_state: dict[str, Any], safety_host: Host
) -> None:
    inventory = harness_state["inventory"]

    run = run_pyinfra_cli(inventory)

    assert run.exit_code == 0 and run.changed > 0, run.describe()
    for unit in STACK_UNITS:
        assert safety_host.service(unit).is_running, f"{unit} did not come back"
    assert_converged(inventory, "after the converge from scratch")
