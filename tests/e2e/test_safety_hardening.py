"""Hardening: every unit runs as its own unprivileged user in a strict systemd sandbox."""

from __future__ import annotations

import re

import pytest
from e2e_support import STACK_UNITS
from testinfra.host import Host

MOST_EXPOSURE = 3.0
by_unit = pytest.mark.parametrize("unit", STACK_UNITS)


def _property(host: Host, unit: str, name: str) -> str:
    return host.run(f"systemctl show -p {name} --value {unit}.service").stdout.strip()


@by_unit
def test_systemd_rates_the_unit_exposure_at_most_3(safety_host: Host, unit: str) -> None:
    result = safety_host.run(f"systemd-analyze security --no-pager {unit}.service")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)

    assert found, f"no overall exposure in:\n{result.stdout[-800:]}{result.stderr}"
    assert float(found[1]) <= MOST_EXPOSURE, f"{unit} is rated {found[0]}"


@by_unit
def test_the_unit_runs_as_its_own_non_root_user(safety_host: Host, unit: str) -> None:
    assert _property(safety_host, unit, "User") == unit
    user = safety_host.user(unit)
    assert user.exists and user.uid != 0 and user.shell == "/usr/sbin/nologin"
    pid = _property(safety_host, unit, "MainPID")
    owner = safety_host.run(f"ps -o user:32= -p {pid}").stdout.strip()
    assert owner == unit, f"MainPID {pid} of {unit} runs as {owner!r}"


@by_unit
def test_the_unit_cannot_gain_privileges_or_write_the_system(safety_host: Host, unit: str) -> None:
    assert _property(safety_host, unit, "NoNewPrivileges") == "yes"
    assert _property(safety_host, unit, "ProtectSystem") == "strict"


@by_unit
def test_the_unit_may_write_only_its_own_data_directory(safety_host: Host, unit: str) -> None:
    assert _property(safety_host, unit, "ReadWritePaths").split() == [f"/var/lib/{unit}"]
