"""Guarded rollout: a change that passes its check but leaves the service unready is rolled
back, and a change its program's own validator rejects never goes live."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    assert_converged,
    file_sha256,
    journal,
    load_test_data,
    main_pids,
    restore,
    run_pyinfra_cli,
)
from testinfra.host import Host

INTRUDER_PORT = 3111
# Passes `mimir -modules` (the check run on the staged config) and exits at once otherwise.
BROKEN_MIMIR = b'#!/bin/sh\ncase "$*" in *-modules*) exit 0;; esac\nexit 1\n'
BROKEN_MIMIR_URL = (
    "https://github.com/grafana/mimir/releases/download/mimir-9.9.9/mimir-linux-amd64"
)


@pytest.fixture
def inventory(harness_state: dict[str, Any]) -> str:
    assert_converged(harness_state["inventory"], "before the test")
    return str(harness_state["inventory"])


def test_a_config_that_leaves_loki_unready_is_rolled_back_to_the_old_one(
    inventory: str, safety_host: Host
) -> None:
    before = file_sha256(safety_host, "/etc/loki/loki.yaml")
    # Another program on the new port: Loki's config check passes, binding it fails.
    safety_host.run(
        "mkdir -p /tmp/intruder && cd /tmp/intruder && "
        f"setsid python3 -m http.server {INTRUDER_PORT} --bind 127.0.0.1 >/dev/null 2>&1 &"
    )
    try:
        run = run_pyinfra_cli(inventory, data={"loki_http_port": INTRUDER_PORT})
        rolled_back = safety_host.file("/etc/loki/loki.yaml")
        pending = safety_host.file("/etc/loki/.pending").exists
        active = safety_host.service("loki").is_running
        old_port = safety_host.socket("tcp://0.0.0.0:3100").is_listening
    finally:
        safety_host.run(f"pkill -f 'http.server {INTRUDER_PORT}'")

    assert run.exit_code != 0, "the deploy succeeded with an unready loki" + run.describe()
    assert "loki: not ready after restart" in run.stderr and "rolling back" in run.stderr, (
        run.describe()
    )
    assert "loki: rolled back to the last good configuration" in run.stderr, run.describe()
    assert run.seconds < 90, f"the rollback took {run.seconds:.0f} s"
    assert file_sha256(safety_host, "/etc/loki/loki.yaml") == before, rolled_back.content_string
    assert not pending, "/etc/loki/.pending is left after a successful rollback"
    assert active and old_port, "loki is not back on its old port" + journal(safety_host, "loki")
    restore(inventory)


@pytest.fixture
def broken_mimir_cache(tmp_path: Path) -> tuple[Path, str]:
    """A cache with every test artifact, but a mimir-linux-amd64 that cannot serve."""
    cache = Path(load_test_data()["artifact_cache_dir"])
    into = tmp_path / "cache"
    into.mkdir()
    for path in cache.iterdir():
        if path.is_file() and not path.name.endswith(".sha256-memo"):
            (into / path.name).symlink_to(path)
    # Mimir's release file has the same name in every version.
    (into / "mimir-linux-amd64").unlink()
    (into / "mimir-linux-amd64").write_bytes(BROKEN_MIMIR)
    return into, hashlib.sha256(BROKEN_MIMIR).hexdigest()


def test_a_binary_that_passes_its_check_but_cannot_serve_is_rolled_back(
    inventory: str, safety_host: Host, broken_mimir_cache: tuple[Path, str]
) -> None:
    cache, sha256 = broken_mimir_cache
    lock = {"mimir": {"9.9.9": {"linux-amd64": {"url": BROKEN_MIMIR_URL, "sha256": sha256}}}}

    run = run_pyinfra_cli(
        inventory,
        data={"artifact_lock": lock, "mimir_version": "9.9.9", "artifact_cache_dir": str(cache)},
    )

    assert run.exit_code != 0, "the deploy succeeded with a broken mimir" + run.describe()
    assert "mimir: rolled back to the last good configuration and binary" in run.stderr, (
        run.describe()
    )
    assert run.seconds < 90, f"the rollback took {run.seconds:.0f} s"
    assert safety_host.run("readlink /opt/mimir/current").stdout.strip() == "2.11.0"
    assert safety_host.service("mimir").is_running, journal(safety_host, "mimir")
    assert not safety_host.file("/etc/mimir/.pending").exists
    restore(inventory)


def test_a_config_its_validator_rejects_never_goes_live(inventory: str, safety_host: Host) -> None:
    extra = [{"job_name": "x", "scrape_interval": "notaduration"}]
    before_sha = file_sha256(safety_host, "/etc/prometheus/prometheus.yml")
    before_pid = main_pids(safety_host)["prometheus"]

    run = run_pyinfra_cli(inventory, data={"prometheus_extra_scrape_configs": extra})

    assert run.exit_code != 0, run.describe()
    # promtool's own words, then ours naming the file: not refused by the data schema.
    assert "refused before changing any host" not in run.stderr, run.describe()
    assert "notaduration" in run.stderr and "FAILED" in run.stderr, run.describe()
    assert (
        "prometheus: rendered /etc/prometheus/prometheus.yml was rejected by its check; "
        "the live file is unchanged"
    ) in run.stderr, run.describe()
    assert file_sha256(safety_host, "/etc/prometheus/prometheus.yml") == before_sha
    assert main_pids(safety_host)["prometheus"] == before_pid, "prometheus was restarted"
    assert (
        json.dumps(extra) not in safety_host.file("/etc/prometheus/prometheus.yml").content_string
    )
    restore(inventory)
