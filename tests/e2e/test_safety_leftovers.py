"""What the deploys leave alone and what they clear away: folders they never wrote,
old install trees, dashboard folders the data dropped, services of role groups a host
left, and a binary reinstall cut short."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

from e2e_support import (
    assert_converged,
    file_sha256,
    main_pids,
    restore,
    run_obs_drift,
    run_pyinfra_cli,
    start_pyinfra_cli,
)
from testinfra.host import Host


def test_old_install_trees_are_pruned_but_a_folder_the_deploy_never_wrote_is_kept(
    harness_state: dict[str, Any], safety_host: Host
) -> None:
    inventory = harness_state["inventory"]
    safety_host.run(
        "mkdir -p /opt/tempo/my-backup /opt/tempo/2.0.0 /opt/tempo/1.0.0"
        " && echo precious > /opt/tempo/my-backup/notes.txt"
        " && echo old > /opt/tempo/2.0.0/.payload-sha256"
        " && echo older > /opt/tempo/1.0.0/.payload-sha256"
        " && touch -d '2 days ago' /opt/tempo/2.0.0 && touch -d '3 days ago' /opt/tempo/1.0.0"
    )
    try:
        run = run_pyinfra_cli(inventory)
        assert run.exit_code == 0, run.describe()
        assert not safety_host.file("/opt/tempo/1.0.0").exists, "the oldest tree was kept"
        assert safety_host.file("/opt/tempo/2.0.0").exists, "the one previous tree was removed"
        notes = safety_host.file("/opt/tempo/my-backup/notes.txt")
        assert notes.exists and notes.content_string == "precious\n", "a foreign folder went"
    finally:
        safety_host.run("rm -rf /opt/tempo/my-backup /opt/tempo/2.0.0 /opt/tempo/1.0.0")
    assert_converged(inventory, "after the old trees were cleared")


def _dashboard(uid: str) -> str:
    return json.dumps({"uid": uid, "title": f"Team dashboard {uid}", "panels": []})


def test_a_dashboard_folder_removed_from_the_data_is_removed_from_the_host(
    harness_state: dict[str, Any], safety_host: Host, tmp_path: Path
) -> None:
    inventory = harness_state["inventory"]
    extra = tmp_path / "dashboards"
    (extra / "Team A").mkdir(parents=True)
    (extra / "Team A" / "one.json").write_text(_dashboard("team-a-one"))
    data = {"grafana_extra_dashboards_dir": str(extra)}
    try:
        run = run_pyinfra_cli(inventory, data=data)
        assert run.exit_code == 0, run.describe()
        assert safety_host.file("/etc/grafana/dashboards/team-a/one.json").exists

        (extra / "Team A" / "one.json").unlink()
        (extra / "Team A").rmdir()
        run = run_pyinfra_cli(inventory, data=data)
        assert run.exit_code == 0, run.describe()
        assert not safety_host.file("/etc/grafana/dashboards/team-a").exists, (
            "the dropped folder's dashboards are still provisioned"
        )
        assert_converged(inventory, "after the folder was dropped")
    finally:
        restore(inventory)


def test_a_service_whose_role_group_the_host_left_is_reported_and_removable(
    harness_state: dict[str, Any], safety_host: Host, tmp_path: Path
) -> None:
    inventory = harness_state["inventory"]
    text = Path(inventory).read_text()
    without_loki, count = re.subn(r"^loki = \[.*\]$", "loki = []", text, flags=re.M)
    assert count == 1, "the generated inventory has no loki group line to edit"
    narrowed = tmp_path / "dev.py"
    narrowed.write_text(without_loki)
    try:
        run = run_pyinfra_cli(narrowed)
        assert run.exit_code == 0, run.describe()
        assert "loki: is installed here but this host is not in its role group" in run.stderr
        assert safety_host.service("loki").is_running, "a stray service was removed unasked"

        drift = run_obs_drift(narrowed)
        assert drift.exit_code == 1, drift.describe()
        assert "loki: is installed here but this host is not in its role group" in drift.stdout

        removed = run_pyinfra_cli(
            narrowed, deploy="deploys/uninstall.py", data={"uninstall_components": ["loki"]}
        )
        assert removed.exit_code == 0, removed.describe()
        assert not safety_host.file("/etc/systemd/system/loki.service").exists
        assert safety_host.service("mimir").is_running, "uninstalling loki touched mimir"
        assert run_obs_drift(narrowed).exit_code == 0
    finally:
        restore(inventory)


def test_a_binary_reinstall_cut_short_still_restarts_the_service_on_the_next_run(
    harness_state: dict[str, Any], safety_host: Host
) -> None:
    inventory = harness_state["inventory"]
    binary = "/opt/redis_exporter/current/redis_exporter"
    genuine = file_sha256(safety_host, binary)
    # The service runs a replaced binary; the deploy reinstalls it and is killed once it
    # owes the restart (the marker is written before the tree is replaced).
    safety_host.run(
        f"systemctl stop redis_exporter && printf x >> {binary} && systemctl start redis_exporter"
    )
    stale_pid = main_pids(safety_host, ["redis_exporter"])["redis_exporter"]
    process = start_pyinfra_cli(inventory)
    try:
        for _ in range(600):
            if process.poll() is not None:
                break
            if safety_host.file("/etc/redis_exporter/.pending").exists:
                os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        process.wait(timeout=60)

        finishing = run_pyinfra_cli(inventory)
        assert finishing.exit_code == 0, finishing.describe()
        assert file_sha256(safety_host, binary) == genuine
        now = main_pids(safety_host, ["redis_exporter"])["redis_exporter"]
        assert now not in (0, stale_pid), "redis_exporter still runs the replaced binary"
        assert not safety_host.file("/etc/redis_exporter/.pending").exists
        assert_converged(inventory, "after the cut-short reinstall")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        restore(inventory)
