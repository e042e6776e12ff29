"""Helpers shared by the end-to-end tests: probes, polling, journal excerpts, host snapshots
and runs of the real pyinfra CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testinfra.host import Host

# Runs inside a host with only the standard library: curl is not in the image.
HTTP_PROBE = """\
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        print(json.dumps({"status": response.status, "body": response.read().decode()}))
except urllib.error.HTTPError as error:
    print(json.dumps({"status": error.code, "body": error.read().decode(errors="replace")}))
except Exception as error:
    print(json.dumps({"status": 0, "body": repr(error)}))
"""


def journal(host: Host, unit: str, lines: int = 50) -> str:
    """The unit's last journal lines, for assertion messages."""
    result = host.run(f"journalctl -u {unit} -n {lines} --no-pager")
    return f"\n--- journalctl -u {unit} -n {lines}\n{result.stdout}{result.stderr}"


def http_get_inside(host: Host, url: str) -> tuple[int, str]:
    """GET a URL from inside the host; return the status (0 when unreachable) and body."""
    result = host.run("python3 -c %s %s", HTTP_PROBE, url)
    try:
        answer = json.loads(result.stdout)
    except json.JSONDecodeError:
        return 0, result.stdout + result.stderr
    return int(answer["status"]), str(answer["body"])


def http_get_from_controller(url: str) -> tuple[int, str]:
    """GET a URL on 127.0.0.1 from the machine running the tests."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, repr(error)


def unit_is_up(host: Host, unit: str) -> bool:
    """Whether the unit is running or on its way there, i.e. worth waiting for."""
    state = host.run(f"systemctl is-active {unit}").stdout.strip()
    return state in ("active", "activating", "reloading")


def poll(
    check: Callable[[], tuple[bool, str]],
    timeout: float,
    interval: float = 2.0,
    worth_waiting: Callable[[], bool] = lambda: True,
) -> tuple[bool, str]:
    """Call `check` until it reports done, `timeout` seconds pass or waiting is pointless.

    Returns whether it was done and its last detail.
    """
    deadline = time.monotonic() + timeout
    while True:
        done, detail = check()
        if done or time.monotonic() >= deadline or not worth_waiting():
            return done, detail
        time.sleep(interval)


# -- running the deploys the way an operator does -------------------------------------------------

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPOSITORY_ROOT / ".cache" / "test-artifacts" / "test-data.json"
DEPLOY_TIMEOUT = 600.0
STACK_UNITS = ("prometheus", "mimir", "loki", "tempo", "redis_exporter", "grafana")
STACK_CONFIG_DIRS = tuple(f"/etc/{unit}" for unit in STACK_UNITS)


@dataclass
class PyinfraRun:
    """One pyinfra CLI run: its exit code, `--json` stdout (parsed when it parses) and stderr.

    + changed: pyinfra's `results.totals.success`, the number of changed operation-host pairs
    """

    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    payload: dict[str, Any] | None = None

    @property
    def changed(self) -> int:
        results = (self.payload or {}).get("results") or {}
        return int((results.get("totals") or {}).get("success", 0))

    @property
    def changed_operations(self) -> list[str]:
        results = (self.payload or {}).get("results") or {}
        return [op["name"] for op in results.get("operations") or [] if op.get("success")]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        """The run, its exit code and the tail of its log, for assertion messages."""
        tail = "\n".join(self.stderr.splitlines()[-30:])
        return (
            f"\n$ {' '.join(self.command[-2:])} -> exit {self.exit_code} in {self.seconds:.1f} s,"
            f" {self.changed} changed {self.changed_operations}\n--- stderr tail\n{tail}"
        )


def load_test_data() -> dict[str, Any]:
    """The `--data` the harness's converge uses: where the test artifacts and their lock are."""
    if not TEST_DATA.exists():
        raise FileNotFoundError(
            f"{TEST_DATA} is missing: build it with "
            "`python -m tests.artifacts build --cache .cache/test-artifacts`"
        )
    return dict(json.loads(TEST_DATA.read_text()))


def deploy_command(
    inventory: str | Path,
    deploy: str = "deploys/stack.py",
    data: dict[str, Any] | None = None,
    extra_args: Sequence[str] = (),
    with_test_data: bool = True,
) -> list[str]:
    """The pyinfra command line of the harness's converge, with `data` over the test data."""
    # The harness's own encoding of --data values, so that a run here means what converge means.
    if str(REPOSITORY_ROOT) not in sys.path:
        sys.path.insert(0, str(REPOSITORY_ROOT))
    from tests.harness.converge import data_arguments

    merged = load_test_data() if with_test_data else {}
    merged.update(data or {})
    pyinfra = Path(sys.executable).parent / "pyinfra"
    return [
        str(pyinfra),
        "-y",
        "--json",
        *extra_args,
        *data_arguments(merged),
        str(inventory),
        deploy,
    ]


def run_pyinfra_cli(
    inventory: str | Path,
    deploy: str = "deploys/stack.py",
    data: dict[str, Any] | None = None,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    with_test_data: bool = True,
    timeout: float = DEPLOY_TIMEOUT,
) -> PyinfraRun:
    """Run the real pyinfra CLI in a subprocess from the repository root.

    + data: `--data` values over the test data (the test data alone when None)
    + env: the environment of the run (the tests' own, without GATEWAYZ_* secrets, when None)
    """
    command = deploy_command(inventory, deploy, data, extra_args, with_test_data)
    run = _run(command, timeout, env)
    run.payload = parse_json_output(run.stdout)
    return run


def _run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> PyinfraRun:
    """Run a command from the repository root, keeping its exit code, output and time."""
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else clean_environment(),
        check=False,
    )
    return PyinfraRun(
        command,
        completed.returncode,
        completed.stdout,
        completed.stderr,
        time.monotonic() - started,
    )


def start_pyinfra_cli(
    inventory: str | Path,
    deploy: str = "deploys/stack.py",
    data: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start the same run in the background, in a session of its own (to be killed whole)."""
    return subprocess.Popen(
        deploy_command(inventory, deploy, data),
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env if env is not None else clean_environment(),
        start_new_session=True,
    )


def clean_environment(**secrets: str) -> dict[str, str]:
    """This process's environment without any GATEWAYZ_* variable, plus `secrets`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAYZ_")}
    environment.update(secrets)
    return environment


def parse_json_output(stdout: str) -> dict[str, Any] | None:
    """pyinfra's `--json` document, which follows whatever else it printed on stdout."""
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        payload = json.loads(stdout[start:])
    except json.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


# -- reading a host's state in one command -----------------------------------------------------

_SNAPSHOT = r"""
for f in $(find /etc/systemd/system -maxdepth 1 -name '*.service' -type f 2>/dev/null;
           find {dirs} -type f 2>/dev/null | sort); do
  printf 'file %s %s %s\n' "$f" "$(stat -c %a:%U:%G "$f")" "$(sha256sum "$f" | cut -c1-64)"
done
for d in $(find {dirs} /var/lib/{data} -type d 2>/dev/null | sort); do
  printf 'dir %s %s\n' "$d" "$(stat -c %a:%U:%G "$d")"
done
for l in /opt/*/current; do printf 'link %s %s\n' "$l" "$(readlink "$l")"; done
for u in {units}; do
  printf 'unit %s %s\n' "$u" \
    "$(systemctl show -p MainPID -p ActiveState -p UnitFileState --value $u.service | paste -sd,)"
done
"""


def host_snapshot(host: Host) -> dict[str, str]:
    """Every file under the stack's /etc directories and every unit file (mode, owner, group,
    sha256), every directory's attributes, each /opt/*/current target and each service's
    MainPID, state and enablement: path or unit -> one comparable string."""
    script = _SNAPSHOT.format(
        dirs=" ".join(STACK_CONFIG_DIRS),
        data="{" + ",".join(STACK_UNITS) + "}",
        units=" ".join(STACK_UNITS),
    )
    result = host.run("bash -c %s", script)
    snapshot: dict[str, str] = {}
    for line in result.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        name, _, value = rest.partition(" ")
        snapshot[f"{kind} {name}"] = value
    return snapshot


def snapshot_difference(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs between two snapshots, one line per entry."""
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            lines.append(f"{key}: {before.get(key)} -> {after.get(key)}")
    return lines


def main_pids(host: Host, units: Sequence[str] = STACK_UNITS) -> dict[str, int]:
    """MainPID of each unit (0 when it is not running), read with one command."""
    names = " ".join(f"{unit}.service" for unit in units)
    result = host.run(f"systemctl show -p MainPID --value {names}")
    values = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    return {unit: int(value) for unit, value in zip(units, values, strict=True)}


def prometheus_reload_timestamp(host: Host, port: int = 9090) -> float:
    """`prometheus_config_last_reload_success_timestamp_seconds`, 0 when it cannot be read."""
    status, body = http_get_inside(host, f"http://127.0.0.1:{port}/metrics")
    if status != 200:
        return 0.0
    for line in body.splitlines():
        if line.startswith("prometheus_config_last_reload_success_timestamp_seconds "):
            return float(line.split()[1])
    return 0.0


def file_sha256(host: Host, path: str) -> str:
    """sha256 of a file on the host, empty when it is absent."""
    result = host.run(f"sha256sum {path}")
    return result.stdout.split()[0] if result.rc == 0 else ""


def run_obs_drift(inventory: str | Path, data: dict[str, Any] | None = None) -> PyinfraRun:
    """`obs-drift INVENTORY --data ...` with the test data, as an operator would run it."""
    if str(REPOSITORY_ROOT) not in sys.path:
        sys.path.insert(0, str(REPOSITORY_ROOT))
    from tests.harness.converge import data_arguments

    merged = load_test_data()
    merged.update(data or {})
    command = [str(Path(sys.executable).parent / "obs-drift"), str(inventory)]
    command += data_arguments(merged)
    return _run(command, DEPLOY_TIMEOUT)


def assert_converged(inventory: str | Path, what: str = "") -> PyinfraRun:
    """Run the deploy and fail unless it succeeds changing nothing."""
    run = run_pyinfra_cli(inventory)
    assert run.exit_code == 0, f"the deploy failed {what}" + run.describe()
    assert run.changed == 0, f"the host was not left converged {what}" + run.describe()
    return run


def restore(inventory: str | Path) -> None:
    """Repair whatever a test left behind, then check that a further run changes nothing."""
    repair = run_pyinfra_cli(inventory)
    assert repair.exit_code == 0, "the repairing deploy failed" + repair.describe()
    assert_converged(inventory, "after the repairing deploy")
