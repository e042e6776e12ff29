"""config.py, which pyinfra executes before it reads the inventory, run through the real CLI
in a subprocess (importing pyinfra_cli here would patch this process with gevent)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYINFRA, "-y", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def loopback_inventory(tmp_path: Path) -> Path:
    """Two hosts on a loopback port nothing listens on: should a check regress, the run
    fails on 127.0.0.1 and reaches no other address."""
    inventory = tmp_path / "dev.py"
    inventory.write_text(
        "_data = {'ssh_hostname': '127.0.0.1', 'ssh_port': 9, 'ssh_connect_retries': 0}\n"
        "prometheus = [('metrics-1', _data)]\n"
        "grafana = [('ui-1', _data)]\n"
    )
    return inventory


def test_a_limit_that_matches_no_host_is_refused_before_connecting_to_any(tmp_path):
    result = run(str(loopback_inventory(tmp_path)), "deploys/stack.py", "--limit", "metrics-2")
    assert result.returncode == 1
    assert "--limit/--exclude: the pattern matches no host" in result.stderr
    assert "Connecting to hosts" not in result.stderr


def test_an_exclude_that_leaves_no_host_is_refused_too(tmp_path):
    inventory = str(loopback_inventory(tmp_path))
    result = run(inventory, "deploys/stack.py", "--exclude", "metrics-1", "--exclude", "ui-1")
    assert result.returncode == 1
    assert "matches no host" in result.stderr
    assert "Connecting to hosts" not in result.stderr


def test_a_failed_host_stops_the_run(tmp_path):
    deploy = tmp_path / "show_config.py"
    deploy.write_text(
        "from pyinfra import logger, state\n"
        "logger.warning(f'FAIL_PERCENT={state.config.FAIL_PERCENT}')\n"
    )
    result = run("@local", str(deploy))
    assert result.returncode == 0, result.stderr
    assert "FAIL_PERCENT=0" in result.stderr
