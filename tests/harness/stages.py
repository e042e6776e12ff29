"""The lifecycle stages of a scenario: create, prepare, converge, idempotence, verify, destroy.

Each stage prints exactly one line to stdout when it ends, `harness <scenario>: <stage> ok (...)`
or `harness <scenario>: <stage> FAILED: <reason>`; details of a failure go to stderr. What later
stages and the verify tests need is written to `.molecule/<scenario>/state.json`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from . import containers
from .converge import ConvergeResult, load_test_data, run_pyinfra
from .errors import HarnessError
from .images import ensure_image
from .inventory import host_data, render_inventory
from .scenario import Scenario

logger = logging.getLogger("tests.harness")

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BACKEND_DIR = REPOSITORY_ROOT / "tests" / "sample_backend"
SAMPLE_BACKEND_UNIT = "gatewayz-sample-backend"
SAMPLE_BACKEND_PORT = 8000
MANAGED_UNITS = ("prometheus", "mimir", "loki", "tempo", "redis_exporter", "grafana")
MANAGED_HEADER = "managed by gatewayz-observability"
READY_TIMEOUT = 60.0
VERIFY_TIMEOUT = 900.0


@dataclass
class Context:
    """One scenario run: its definition, where its files go and the docker client."""

    scenario: Scenario
    root: Path
    deploy: str
    client: docker.DockerClient

    @property
    def directory(self) -> Path:
        return self.root / ".molecule" / self.scenario.name

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    @property
    def key_path(self) -> Path:
        return self.directory / "id_ed25519"

    @property
    def known_hosts_path(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def inventory_path(self) -> Path:
        return self.directory / "inventories" / f"{self.scenario.environment}.py"

    def load_state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            raise HarnessError(
                f"{self.state_path} is missing; run `python -m tests.harness create "
                f"{self.scenario.name}` first"
            )
        return json.loads(self.state_path.read_text())

    def save_state(self, state: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        temporary.replace(self.state_path)

    def container(self, name: str) -> Container:
        try:
            return self.client.containers.get(name)
        except docker.errors.NotFound as error:
            raise HarnessError(
                f"container {name} is gone; run `python -m tests.harness create "
                f"{self.scenario.name}` again"
            ) from error


def create(context: Context) -> str:
    scenario = context.scenario
    started = time.monotonic()

    removed = containers.remove_stale(context.client, scenario.name)
    if removed:
        logger.info("removed stale %s", ", ".join(removed))

    images = {
        platform.image: ensure_image(context.client, platform.image)
        for platform in scenario.platforms
    }
    image_seconds = time.monotonic() - started

    context.directory.mkdir(parents=True, exist_ok=True)
    public_key = containers.ensure_key_pair(context.key_path)
    network = containers.create_network(context.client, scenario.name)

    started_containers = [
        (
            platform,
            containers.start_platform(
                context.client, scenario, platform, images[platform.image], network
            ),
        )
        for platform in scenario.platforms
    ]

    hosts_state: dict[str, Any] = {}
    inventory_hosts: dict[str, dict[str, Any]] = {}
    known_hosts: list[str] = []
    for platform, container in started_containers:
        failed = containers.wait_for_systemd(container)
        if failed:
            logger.warning("%s booted degraded; failed units: %s", platform.name, ", ".join(failed))
            for unit in failed:
                print(containers.journal(container, unit), file=sys.stderr)

        containers.add_deploy_user(container, public_key)
        ports = containers.published_ports(container)
        ssh_port = ports[22]
        containers.wait_for_ssh(container, ssh_port)
        known_hosts += containers.host_key_lines(container, ssh_port)

        hosts_state[platform.name] = {
            "container": container.name,
            "container_id": container.id,
            "image": images[platform.image],
            "groups": list(platform.groups),
            "published_ports": {str(port): host for port, host in sorted(ports.items())},
            "ssh_port": ssh_port,
            "sample_backend": platform.sample_backend,
            "degraded_units": failed,
        }
        inventory_hosts[platform.name] = host_data(
            scenario, platform, ssh_port, context.key_path, context.known_hosts_path
        )

    context.known_hosts_path.write_text("\n".join(known_hosts) + "\n")
    context.inventory_path.parent.mkdir(parents=True, exist_ok=True)
    source = str(scenario.path.relative_to(context.root))
    context.inventory_path.write_text(render_inventory(scenario, inventory_hosts, source))

    context.save_state(
        {
            "scenario": scenario.name,
            "network": network,
            "environment": scenario.environment,
            "key": str(context.key_path),
            "known_hosts": str(context.known_hosts_path),
            "inventory": str(context.inventory_path),
            "hosts": hosts_state,
            "main_pids": {},
        }
    )
    return f"{len(started_containers)} host(s) on {network}, image ready in {image_seconds:.1f} s"


def prepare(context: Context) -> str:
    state = context.load_state()
    done: list[str] = []
    for name, host in state["hosts"].items():
        container = context.container(host["container"])
        wait_for_redis(container)
        done.append(f"{name}: redis")
        if host["sample_backend"]:
            install_sample_backend(container)
            done[-1] += " + sample backend"
    return "; ".join(done)


def wait_for_redis(container: Container, timeout: float = READY_TIMEOUT) -> None:
    # Whatever the deploys do with Redis later, the image's redis-server must answer first.
    _wait_until(
        container,
        "redis-cli ping",
        lambda output: output.strip() == "PONG",
        timeout,
        what="redis-server answering PONG",
        unit="redis-server",
    )


def install_sample_backend(container: Container) -> None:
    containers.put_file(
        container,
        "/opt/gatewayz-sample-backend/app.py",
        (SAMPLE_BACKEND_DIR / "app.py").read_text(),
    )
    containers.put_file(
        container,
        f"/etc/systemd/system/{SAMPLE_BACKEND_UNIT}.service",
        (SAMPLE_BACKEND_DIR / f"{SAMPLE_BACKEND_UNIT}.service").read_text(),
    )
    code, output = containers.run(
        container,
        f"systemctl daemon-reload && systemctl enable --now {SAMPLE_BACKEND_UNIT}.service",
    )
    if code != 0:
        raise ServiceFailure(
            f"could not start {SAMPLE_BACKEND_UNIT}: {output.strip()}",
            container,
            [SAMPLE_BACKEND_UNIT],
        )

    probe = (
        'python3 -c "import urllib.request; '
        f"print(urllib.request.urlopen('http://127.0.0.1:{SAMPLE_BACKEND_PORT}/metrics', "
        'timeout=3).read().decode())"'
    )
    _wait_until(
        container,
        probe,
        lambda output: "http_requests_total" in output,
        READY_TIMEOUT,
        what=f"sample backend answering on :{SAMPLE_BACKEND_PORT}/metrics",
        unit=SAMPLE_BACKEND_UNIT,
    )


def converge(context: Context) -> str:
    result = _converge_once(context, "converge")
    state = context.load_state()
    state["main_pids"] = {"converge": _record_main_pids(context, state)}
    state["converge"] = {"changed": result.changed_count, "seconds": round(result.seconds, 1)}
    context.save_state(state)
    return f"{result.changed_count} operations changed"


def idempotence(context: Context) -> str:
    state = context.load_state()
    before = state.get("main_pids", {}).get("converge")
    if before is None:
        raise HarnessError("no MainPIDs recorded after converge; run the converge stage first")

    files_before = _snapshot_managed_files(context, state)
    result = _converge_once(context, "idempotence")
    after = _record_main_pids(context, state)
    files_after = _snapshot_managed_files(context, state)
    state = context.load_state()
    state["main_pids"]["idempotence"] = after
    state["managed_files"] = {
        host: {
            "count": len(files),
            "changed": sorted(
                path
                for path in set(files) | set(files_after[host])
                if files.get(path) != files_after[host].get(path)
            ),
        }
        for host, files in files_before.items()
    }
    context.save_state(state)

    problems: list[str] = []
    if result.changed:
        names = [f"{name} ({', '.join(hosts)})" for name, hosts in result.changed]
        problems.append(f"{result.changed_count} operations changed: " + "; ".join(names))
    for host, pids in before.items():
        for unit, pid in pids.items():
            now = after.get(host, {}).get(unit)
            if now != pid:
                problems.append(f"{unit} on {host} restarted (MainPID {pid} -> {now})")
    for host, files in state["managed_files"].items():
        if files["changed"]:
            problems.append(f"on {host} the second run touched {', '.join(files['changed'])}")
    if problems:
        raise HarnessError("not idempotent: " + "; ".join(problems))
    return "0 operations changed, no service restarted"


def _converge_once(context: Context, stage: str) -> ConvergeResult:
    state = context.load_state()
    if not (context.root / context.deploy).exists() and not Path(context.deploy).exists():
        raise HarnessError(f"deploy file {context.deploy} does not exist")

    data = load_test_data(context.root)
    log_path = context.directory / "converge.log"
    if stage == "converge":
        log_path.unlink(missing_ok=True)
    try:
        result = run_pyinfra(context.root, Path(state["inventory"]), context.deploy, data, log_path)
    except HarnessError as error:
        failed = _failed_units(context, state)
        if failed:
            raise ServiceFailures(str(error), failed) from error
        raise

    # pyinfra only sees `systemctl start` succeed; a service that exits right after is caught here.
    failed = _failed_units(context, state)
    if failed:
        names = ", ".join(
            f"{unit} on {container.name}" for container, units in failed for unit in units
        )
        raise ServiceFailures(f"pyinfra succeeded but units failed: {names}", failed)
    return result


def _failed_units(context: Context, state: dict[str, Any]) -> list[tuple[Container, list[str]]]:
    failed: list[tuple[Container, list[str]]] = []
    for host in state["hosts"].values():
        container = context.container(host["container"])
        units = containers.failed_units(container)
        if units:
            failed.append((container, units))
    return failed


# Everything the deploys manage on a host; a second run must leave each entry as it was.
SNAPSHOT_COMMAND = (
    "for c in " + " ".join(MANAGED_UNITS) + "; do "
    "for p in /etc/systemd/system/$c.service /etc/$c /opt/$c; do "
    "[ -e $p ] && find $p -printf '%p %y %m %u %g %T@ %s\\n'; done; "
    "[ -d /var/lib/$c ] && find /var/lib/$c -maxdepth 0 -printf '%p %y %m %u %g\\n'; "
    "[ -d /etc/$c ] && find /etc/$c -type f -exec sha256sum {} +; done; true"
)


def _snapshot_managed_files(context: Context, state: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per host: path -> type, mode, owner, group, mtime, size (and sha256 for configs)."""
    snapshots: dict[str, dict[str, str]] = {}
    for name, host in state["hosts"].items():
        _, output = containers.run(context.container(host["container"]), SNAPSHOT_COMMAND)
        entries: dict[str, str] = {}
        for line in output.splitlines():
            first, _, rest = line.partition(" ")
            if len(first) == 64 and rest.startswith(" /"):  # a sha256sum line
                entries[rest.strip() + "#sha256"] = first
            elif first.startswith("/"):
                entries[first] = rest
        snapshots[name] = entries
    return snapshots


def _record_main_pids(context: Context, state: dict[str, Any]) -> dict[str, dict[str, int]]:
    pids: dict[str, dict[str, int]] = {}
    for name, host in state["hosts"].items():
        container = context.container(host["container"])
        _, output = containers.run(
            container,
            f"grep -ls '{MANAGED_HEADER}' /etc/systemd/system/*.service "
            "/lib/systemd/system/*.service || true",
        )
        managed = {Path(line.strip()).stem for line in output.splitlines() if line.strip()}
        pids[name] = containers.main_pids(container, sorted(managed | set(MANAGED_UNITS)))
    return pids


def verify(context: Context) -> str:
    context.load_state()
    # A glob such as tests/e2e/test_safety_*.py runs its files in name order.
    tests = [
        str(p.relative_to(context.root))
        for p in sorted(context.root.glob(context.scenario.verifier_tests))
    ]
    env = dict(os.environ, HARNESS_STATE=str(context.state_path.resolve()))
    command = [sys.executable, "-m", "pytest", *tests, "-m", "e2e", "-q", "-p", "no:cacheprovider"]
    try:
        completed = subprocess.run(
            command,
            cwd=context.root,
            env=env,
            timeout=VERIFY_TIMEOUT,
            check=False,
            stdout=sys.stderr,
        )
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"pytest did not finish in {VERIFY_TIMEOUT:.0f} s") from error
    if completed.returncode != 0:
        raise HarnessError(
            f"pytest {context.scenario.verifier_tests} exited {completed.returncode}"
        )
    return f"pytest {context.scenario.verifier_tests} passed"


def destroy(context: Context) -> str:
    removed = containers.remove_scenario(context.client, context.scenario.name)
    return f"removed {len(removed)} container(s) and network(s)"


class ServiceFailures(HarnessError):
    """A stage failed and some systemd units on the hosts are in the failed state."""

    def __init__(self, message: str, failed: list[tuple[Container, list[str]]]) -> None:
        super().__init__(message)
        self.failed = failed


class ServiceFailure(ServiceFailures):
    def __init__(self, message: str, container: Container, units: list[str]) -> None:
        super().__init__(message, [(container, units)])


def _wait_until(
    container: Container,
    command: str,
    ready: Callable[[str], bool],
    timeout: float,
    *,
    what: str,
    unit: str,
) -> None:
    deadline = time.monotonic() + timeout
    output = ""
    while time.monotonic() < deadline:
        code, output = containers.run(container, command)
        if code == 0 and ready(output):
            return
        time.sleep(1)
    raise ServiceFailure(
        f"{container.name}: no {what} within {timeout:.0f} s "
        f"(last output: {output.strip()[-200:]})",
        container,
        [unit],
    )


STAGE_FUNCTIONS: dict[str, Callable[[Context], str]] = {
    "create": create,
    "prepare": prepare,
    "converge": converge,
    "idempotence": idempotence,
    "verify": verify,
    "destroy": destroy,
}


def run_stage(context: Context, stage: str) -> bool:
    """Run one stage, print its one line and return whether it succeeded."""
    started = time.monotonic()
    prefix = f"harness {context.scenario.name}: {stage}"
    try:
        summary = STAGE_FUNCTIONS[stage](context)
    except ServiceFailures as error:
        seconds = time.monotonic() - started
        print(f"{prefix} FAILED after {seconds:.1f} s: {_first_line(error)}", flush=True)
        print(str(error), file=sys.stderr)
        for container, units in error.failed:
            for unit in units:
                print(f"--- journalctl -u {unit} -n 50 on {container.name}", file=sys.stderr)
                print(containers.journal(container, unit), file=sys.stderr)
        _record_stage(context, stage, "failed", seconds)
        return False
    except (HarnessError, docker.errors.DockerException) as error:
        seconds = time.monotonic() - started
        print(f"{prefix} FAILED after {seconds:.1f} s: {_first_line(error)}", flush=True)
        print(str(error), file=sys.stderr)
        _record_stage(context, stage, "failed", seconds)
        return False

    seconds = time.monotonic() - started
    print(f"{prefix} ok ({summary}, {seconds:.1f} s)", flush=True)
    _record_stage(context, stage, "ok", seconds)
    return True


def _record_stage(context: Context, stage: str, status: str, seconds: float) -> None:
    if stage == "destroy" or not context.state_path.exists():
        return
    state = json.loads(context.state_path.read_text())
    state.setdefault("stages", {})[stage] = {"status": status, "seconds": round(seconds, 1)}
    context.save_state(state)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
