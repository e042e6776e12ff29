"""Drift repair: whatever was changed by hand, one deploy puts back, restarting only the
services that need it (reloading Prometheus instead), and `obs-drift` reports it first.

Two rounds of drift are applied to the converged host, each touching every service in a
different way, so that one repairing run shows per service what it did and did not do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import (
    STACK_UNITS,
    PyinfraRun,
    assert_converged,
    file_sha256,
    journal,
    load_test_data,
    main_pids,
    prometheus_reload_timestamp,
    run_obs_drift,
    run_pyinfra_cli,
)
from testinfra.host import Host

FIRST_ROUND = {
    "loki": "echo '# edited by hand' >> /etc/loki/loki.yaml",
    "prometheus": "echo '# edited by hand' >> /etc/prometheus/prometheus.yml",
    "tempo": "sed -i 's/^RestartSec=5s/RestartSec=7s/' /etc/systemd/system/tempo.service"
    " && systemctl daemon-reload",
    "mimir": "printf '\\n' >> /opt/mimir/current/mimir",
    "grafana": "systemctl stop grafana.service",
    "redis_exporter": "systemctl disable redis_exporter.service",
}
STALE_RULE = "/etc/prometheus/rules/retired.yml"
FOREIGN_RULE = "/etc/prometheus/rules/local-team.yml"
SECOND_ROUND = {
    "prometheus": f"echo {STALE_RULE} >> /etc/prometheus/.managed-files"
    f" && printf 'groups: []\\n' > {STALE_RULE} && printf 'groups: []\\n' > {FOREIGN_RULE}"
    f" && chown root:prometheus {STALE_RULE} {FOREIGN_RULE}"
    f" && chmod 640 {STALE_RULE} {FOREIGN_RULE}",
    "loki": "chmod 644 /etc/loki/loki.yaml",
    "tempo": "chown root /var/lib/tempo",
    "grafana": "chmod 755 /etc/grafana",
    # Same bytes, unsafe attributes: a world-writable binary must not pass as converged.
    "mimir": "chmod 777 /opt/mimir/2.11.0/mimir && chown nobody /opt/mimir/2.11.0"
    " && chgrp nogroup /etc/systemd/system/mimir.service",
}


@dataclass
class Round:
    """One round: drift applied, reported, repaired, and checked to be repaired."""

    pids_before: dict[str, int]
    pids_after: dict[str, int]
    reload_before: float
    reload_after: float
    drift_before: PyinfraRun
    repair: PyinfraRun
    drift_after: PyinfraRun
    rerun: PyinfraRun


def _apply_round(host: Host, inventory: str, drift: dict[str, str]) -> Round:
    assert_converged(inventory, "before the drift")
    pids_before = main_pids(host)
    reload_before = prometheus_reload_timestamp(host)
    for service, command in drift.items():
        result = host.run(command)
        assert result.rc == 0, f"could not drift {service}: {result.stderr}"

    drift_before = run_obs_drift(inventory)
    repair = run_pyinfra_cli(inventory)
    pids_after = main_pids(host)
    reload_after = prometheus_reload_timestamp(host)
    drift_after = run_obs_drift(inventory)
    rerun = run_pyinfra_cli(inventory)
    return Round(
        pids_before,
        pids_after,
        reload_before,
        reload_after,
        drift_before,
        repair,
        drift_after,
        rerun,
    )


@pytest.fixture(scope="module")
def first_round(harness_state: dict[str, Any], safety_host: Host) -> Round:
    return _apply_round(safety_host, harness_state["inventory"], FIRST_ROUND)


@pytest.fixture(scope="module")
def second_round(harness_state: dict[str, Any], safety_host: Host, first_round: Round) -> Round:
    return _apply_round(safety_host, harness_state["inventory"], SECOND_ROUND)


def _restarted(drift: Round, unit: str) -> bool:
    return drift.pids_after[unit] != drift.pids_before[unit]


def test_obs_drift_names_each_drifted_service_and_why_and_exits_1(first_round: Round) -> None:
    report = first_round.drift_before

    assert report.exit_code == 1, report.describe() + report.stdout
    expected = {
        "loki": "/etc/loki/loki.yaml differs",
        "prometheus": "/etc/prometheus/prometheus.yml differs",
        "tempo": "unit /etc/systemd/system/tempo.service differs",
        "mimir": "install tree /opt/mimir/2.11.0 differs",
        "grafana": "service is inactive",
        "redis_exporter": "unit is disabled",
    }
    for service, reason in expected.items():
        line = re.search(rf"^  {service}: (.*)$", report.stdout, re.MULTILINE)
        assert line, f"obs-drift does not name {service}:\n{report.stdout}"
        assert reason in line[1], f"obs-drift gives no reason {reason!r} for {service}: {line[0]}"
    assert "drift: 6 service(s) differ on 1 host(s)" in report.stdout, report.stdout


def test_one_deploy_repairs_every_drift_and_a_second_changes_nothing(
    first_round: Round, second_round: Round
) -> None:
    for drift in (first_round, second_round):
        assert drift.repair.exit_code == 0, drift.repair.describe()
        assert drift.repair.changed > 0, "the repair changed nothing" + drift.repair.describe()
        assert drift.rerun.exit_code == 0 and drift.rerun.changed == 0, drift.rerun.describe()


def test_obs_drift_exits_0_after_the_repair(first_round: Round, second_round: Round) -> None:
    for drift in (first_round, second_round):
        report = drift.drift_after
        assert report.exit_code == 0, report.stdout + report.describe()
        assert "drift: none (6 component deploys checked)" in report.stdout, report.stdout


def test_a_hand_edited_loki_config_is_replaced_and_only_loki_restarts(
    first_round: Round, safety_host: Host
) -> None:
    assert _restarted(first_round, "loki"), "loki kept running on the hand-edited config"
    assert "edited by hand" not in safety_host.file("/etc/loki/loki.yaml").content_string
    assert safety_host.service("loki").is_running, journal(safety_host, "loki")


def test_a_hand_edited_prometheus_config_is_replaced_and_prometheus_reloads_without_restart(
    first_round: Round, safety_host: Host
) -> None:
    content = safety_host.file("/etc/prometheus/prometheus.yml").content_string
    assert "edited by hand" not in content
    assert not _restarted(first_round, "prometheus"), "prometheus restarted instead of reloading"
    assert first_round.reload_after > first_round.reload_before, (
        f"prometheus did not reload: last reload {first_round.reload_before} -> "
        f"{first_round.reload_after}"
    )


def test_a_hand_edited_unit_is_replaced_and_its_service_restarts(
    first_round: Round, safety_host: Host
) -> None:
    unit = safety_host.file("/etc/systemd/system/tempo.service").content_string
    assert "RestartSec=5s" in unit
    need_reload = safety_host.run("systemctl show -p NeedDaemonReload --value tempo.service")
    assert need_reload.stdout.strip() == "no"
    assert _restarted(first_round, "tempo"), "tempo kept running with the hand-edited unit"


def test_a_replaced_binary_is_reinstalled_and_its_service_restarts(
    first_round: Round, safety_host: Host
) -> None:
    installed = file_sha256(safety_host, "/opt/mimir/current/mimir")
    data = load_test_data()
    cache = Path(data["artifact_cache_dir"])
    lock = yaml.safe_load(Path(data["artifact_lock_file"]).read_text())
    sha = lock["mimir"]["2.11.0"]["linux-amd64"]["sha256"]
    # The install tree built from the archive the lock names (a rebuilt cache keeps others).
    meta = cache / f"installs/mimir-2.11.0-linux-amd64-{sha[:16]}/install.json"
    assert installed == json.loads(meta.read_text())["checked"]["mimir"], "not the locked binary"
    assert _restarted(first_round, "mimir"), "mimir kept running the replaced binary"
    assert safety_host.service("mimir").is_running, journal(safety_host, "mimir")


def test_a_stopped_service_is_started(first_round: Round, safety_host: Host) -> None:
    assert first_round.pids_after["grafana"] != 0
    assert safety_host.service("grafana").is_running, journal(safety_host, "grafana")


def test_a_disabled_service_is_enabled_again_without_a_restart(
    first_round: Round, safety_host: Host
) -> None:
    assert safety_host.service("redis_exporter").is_enabled
    assert not _restarted(first_round, "redis_exporter"), "enabling it restarted redis_exporter"


def test_a_rule_file_the_data_no_longer_lists_is_removed_and_prometheus_reloads(
    second_round: Round, safety_host: Host
) -> None:
    assert not safety_host.file(STALE_RULE).exists, f"{STALE_RULE} was not pruned"
    manifest = safety_host.file("/etc/prometheus/.managed-files").content_string
    assert STALE_RULE not in manifest
    assert not _restarted(second_round, "prometheus"), "prometheus restarted instead of reloading"
    assert second_round.reload_after > second_round.reload_before, "prometheus did not reload"


def test_a_foreign_file_beside_managed_rules_is_left_alone(
    second_round: Round, safety_host: Host
) -> None:
    foreign = safety_host.file(FOREIGN_RULE)
    assert foreign.exists, f"{FOREIGN_RULE}, which the deploy never wrote, was removed"
    assert foreign.content_string == "groups: []\n"
    safety_host.run(f"rm -f {FOREIGN_RULE}")


@pytest.mark.parametrize(
    ("path", "service", "attributes"),
    [
        ("/etc/loki/loki.yaml", "loki", "640 root loki"),
        ("/var/lib/tempo", "tempo", "750 tempo tempo"),
        ("/etc/grafana", "grafana", "750 root grafana"),
        ("/opt/mimir/2.11.0/mimir", "mimir", "755 root root"),
        ("/opt/mimir/2.11.0", "mimir", "755 root root"),
        ("/etc/systemd/system/mimir.service", "mimir", "644 root root"),
    ],
)
def test_a_changed_owner_or_mode_is_put_back_without_a_restart(
    second_round: Round, safety_host: Host, path: str, service: str, attributes: str
) -> None:
    found = safety_host.run(f"stat -c '%a %U %G' {path}").stdout.strip()
    assert found == attributes, f"{path} is {found}, not {attributes}"
    assert not _restarted(second_round, service), f"fixing {path} restarted {service}"


def test_services_with_nothing_to_repair_are_not_restarted(second_round: Round) -> None:
    untouched = [unit for unit in STACK_UNITS if unit not in SECOND_ROUND]
    restarted = [unit for unit in untouched if _restarted(second_round, unit)]
    assert not restarted, f"restarted with nothing to repair: {restarted}"
