"""Fixtures for end-to-end tests of a scenario created by `python -m tests.harness`.

The harness runs these tests in its verify stage with HARNESS_STATE set to the scenario's
state.json; run by hand, point HARNESS_STATE at `.molecule/<scenario>/state.json` of a scenario
created with `--keep`. Without it every test here is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import testinfra
from testinfra.host import Host

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def harness_state() -> dict[str, Any]:
    """The scenario's state.json as written by the harness."""
    path = os.environ.get("HARNESS_STATE")
    if not path:
        pytest.skip(
            "HARNESS_STATE is not set: run these tests through "
            "`python -m tests.harness verify <scenario>`"
        )
    state_path = Path(path)
    if not state_path.exists():
        pytest.skip(f"HARNESS_STATE points to {state_path}, which does not exist")
    return json.loads(state_path.read_text())


@pytest.fixture(scope="session")
def hosts(harness_state: dict[str, Any]) -> dict[str, Host]:
    """testinfra hosts by platform name, reached with `docker exec` as root."""
    return {
        name: testinfra.get_host(f"docker://{platform['container']}")
        for name, platform in harness_state["hosts"].items()
    }


@pytest.fixture(scope="session")
def host_for_group(harness_state: dict[str, Any], hosts: dict[str, Host]) -> Callable[[str], Host]:
    """The first host (by name) of an inventory group."""

    def find(group: str) -> Host:
        for name in sorted(harness_state["hosts"]):
            if group in harness_state["hosts"][name]["groups"]:
                return hosts[name]
        pytest.fail(f"no host of the scenario is in group {group!r}")

    return find


@pytest.fixture(scope="session")
def published_port(harness_state: dict[str, Any]) -> Callable[[str, int], int]:
    """The port on 127.0.0.1 that a host's container port is published on."""

    def lookup(host_name: str, container_port: int) -> int:
        ports = harness_state["hosts"][host_name]["published_ports"]
        if str(container_port) not in ports:
            pytest.fail(f"{host_name} does not publish port {container_port}; it has {ports}")
        return int(ports[str(container_port)])

    return lookup


@pytest.fixture(scope="session")
def safety_host(hosts: dict[str, Host]) -> Host:
    """The safety scenario's one host (molecule/safety/molecule.yml)."""
    return hosts["obs-safety"]
