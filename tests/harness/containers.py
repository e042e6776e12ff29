"""Containers and networks of a scenario, driven through the docker SDK.

Each platform is a container with systemd as PID 1, started the way TESTBED-like machines allow:
not privileged, but with SYS_ADMIN, the host cgroup namespace, the cgroup tree bind-mounted and
tmpfs on /run. Everything created carries the harness labels so that a later run can find and
remove what an interrupted run left behind.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import tarfile
import time
from collections.abc import Iterable
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from .errors import HarnessError
from .images import HARNESS_LABEL
from .scenario import Platform, Scenario

logger = logging.getLogger("tests.harness")

SCENARIO_LABEL = "gatewayz-obs.scenario"
DEPLOY_USER = "deploy"
SYSTEMD_BOOT_TIMEOUT = 90.0
SSH_READY_TIMEOUT = 30.0


def labels(scenario_name: str) -> dict[str, str]:
    return {HARNESS_LABEL: "1", SCENARIO_LABEL: scenario_name}


def network_name(scenario_name: str) -> str:
    return f"gatewayz-obs-{scenario_name}"


def remove_scenario(client: docker.DockerClient, scenario_name: str) -> list[str]:
    """Remove the scenario's containers and network; return the names removed."""
    removed: list[str] = []
    selector = f"{SCENARIO_LABEL}={scenario_name}"
    for container in client.containers.list(all=True, filters={"label": selector}):
        container.remove(force=True, v=True)
        removed.append(container.name)
    for network in client.networks.list(filters={"label": selector}):
        network.remove()
        removed.append(network.name)
    return removed


def remove_stale(client: docker.DockerClient, scenario_name: str) -> list[str]:
    """Remove this scenario's leftovers and any stopped harness container of other scenarios.

    Running containers of other scenarios are left alone: a sandbox may be in use while the
    default scenario is tested.
    """
    removed = remove_scenario(client, scenario_name)
    for container in client.containers.list(all=True, filters={"label": f"{HARNESS_LABEL}=1"}):
        if container.status != "running":
            container.remove(force=True, v=True)
            removed.append(container.name)
    for network in client.networks.list(filters={"label": f"{HARNESS_LABEL}=1"}):
        network.reload()
        if not network.attrs.get("Containers"):
            network.remove()
            removed.append(network.name)
    return removed


def create_network(client: docker.DockerClient, scenario_name: str) -> str:
    name = network_name(scenario_name)
    client.networks.create(name, driver="bridge", labels=labels(scenario_name))
    return name


def start_platform(
    client: docker.DockerClient, scenario: Scenario, platform: Platform, image: str, network: str
) -> Container:
    ports = {
        f"{container_port}/tcp": ("127.0.0.1", host_port or None)
        for container_port, host_port in sorted(platform.published_ports.items())
    }
    try:
        container = client.containers.run(
            image,
            command=["/lib/systemd/systemd"],
            name=platform.name,
            hostname=platform.name,
            detach=True,
            labels=labels(scenario.name),
            environment={"container": "docker"},
            tmpfs={"/run": "rw,exec,mode=755", "/run/lock": "rw,mode=1777"},
            volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
            cgroupns="host",
            cap_add=["SYS_ADMIN"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            ports=ports,
            network=network,
            networking_config={network: client.api.create_endpoint_config(aliases=[platform.name])},
            stop_signal="SIGRTMIN+3",
        )
    except docker.errors.APIError as error:
        raise HarnessError(
            f"could not start platform {platform.name}: {error.explanation}"
        ) from error
    container.reload()
    return container


def published_ports(container: Container) -> dict[int, int]:
    """Container port -> host port on 127.0.0.1, as docker assigned them."""
    container.reload()
    result: dict[int, int] = {}
    for spec, bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).items():
        if not bindings:
            continue
        port, _, protocol = spec.partition("/")
        if protocol == "tcp":
            result[int(port)] = int(bindings[0]["HostPort"])
    return result


def run(
    container: Container,
    command: str,
    *,
    user: str = "root",
    environment: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run a shell command in the container; return its exit code and combined output."""
    exit_code, output = container.exec_run(
        ["/bin/sh", "-c", command], user=user, environment=environment or {}
    )
    return exit_code, output.decode(errors="replace")


def wait_for_systemd(container: Container, timeout: float = SYSTEMD_BOOT_TIMEOUT) -> list[str]:
    """Wait until systemd has finished booting; return the failed units when it is degraded."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=30).decode(errors="replace")
            raise HarnessError(
                f"{container.name} stopped while booting ({container.status}):\n{logs}"
            )
        _, output = run(container, "systemctl is-system-running")
        state = output.strip()
        if state == "running":
            return []
        if state == "degraded":
            return failed_units(container)
        time.sleep(1)

    _, jobs = run(container, "systemctl list-jobs --no-pager")
    raise HarnessError(
        f"{container.name}: systemd did not finish booting in {timeout:.0f} s "
        f"(state {state!r}); pending jobs:\n{jobs}"
    )


def failed_units(container: Container) -> list[str]:
    _, output = run(container, "systemctl list-units --failed --no-legend --plain --no-pager")
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def journal(container: Container, unit: str, lines: int = 50) -> str:
    _, output = run(container, f"journalctl -u {unit} -n {lines} --no-pager")
    return output


def put_file(container: Container, path: str, content: str | bytes, mode: int = 0o644) -> None:
    """Write one file into the container through the docker archive API."""
    data = content.encode() if isinstance(content, str) else content
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name=os.path.basename(path))
        info.size = len(data)
        info.mode = mode
        info.mtime = int(time.time())
        archive.addfile(info, io.BytesIO(data))
    directory = os.path.dirname(path)
    code, output = run(container, f"mkdir -p {directory}")
    if code != 0:
        raise HarnessError(f"{container.name}: mkdir {directory} failed: {output}")
    if not container.put_archive(directory, buffer.getvalue()):
        raise HarnessError(f"{container.name}: could not write {path}")


def ensure_key_pair(path: Path) -> str:
    """Create an ed25519 key pair at `path` unless one is there; return the public key line.

    Keeping an existing key lets a committed inventory refer to it across re-creations.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public_path = path.with_name(path.name + ".pub")
    if path.exists() and public_path.exists():
        return public_path.read_text().strip()

    path.parent.mkdir(parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    private_bytes = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public_line = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
        + " gatewayz-obs-harness"
    )
    path.write_bytes(private_bytes)
    path.chmod(0o600)
    public_path.write_text(public_line + "\n")
    return public_line


def add_deploy_user(container: Container, public_key: str) -> None:
    """Create the `deploy` user, authorize the controller's key and give it passwordless sudo."""
    script = f"""
set -e
id -u {DEPLOY_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {DEPLOY_USER}
install -d -m 700 -o {DEPLOY_USER} -g {DEPLOY_USER} /home/{DEPLOY_USER}/.ssh
printf '%s\\n' "$HARNESS_PUBLIC_KEY" > /home/{DEPLOY_USER}/.ssh/authorized_keys
chown {DEPLOY_USER}:{DEPLOY_USER} /home/{DEPLOY_USER}/.ssh/authorized_keys
chmod 600 /home/{DEPLOY_USER}/.ssh/authorized_keys
printf '%s\\n' '{DEPLOY_USER} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/{DEPLOY_USER}
chmod 440 /etc/sudoers.d/{DEPLOY_USER}
visudo -cq
"""
    code, output = run(container, script, environment={"HARNESS_PUBLIC_KEY": public_key})
    if code != 0:
        raise HarnessError(f"{container.name}: creating user {DEPLOY_USER} failed:\n{output}")


def host_key_lines(container: Container, ssh_port: int) -> list[str]:
    """known_hosts lines for the container's sshd as reached on 127.0.0.1:<ssh_port>."""
    code, output = run(container, "cat /etc/ssh/ssh_host_*_key.pub")
    if code != 0:
        raise HarnessError(f"{container.name}: no SSH host keys: {output}")
    address = "127.0.0.1" if ssh_port == 22 else f"[127.0.0.1]:{ssh_port}"
    lines = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            lines.append(f"{address} {fields[0]} {fields[1]}")
    return lines


def wait_for_ssh(container: Container, ssh_port: int, timeout: float = SSH_READY_TIMEOUT) -> None:
    """Wait until sshd answers with its banner on the published port."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", ssh_port), timeout=2) as connection:
                connection.settimeout(2)
                if connection.recv(64).startswith(b"SSH-"):
                    return
                last_error = "no SSH banner"
        except OSError as error:
            last_error = str(error)
        time.sleep(0.5)
    raise HarnessError(
        f"{container.name}: sshd on 127.0.0.1:{ssh_port} not ready in {timeout:.0f} s "
        f"({last_error}):\n{journal(container, 'ssh')}"
    )


def main_pids(container: Container, units: Iterable[str]) -> dict[str, int]:
    """MainPID of each unit that is loaded on the host (0 when it is not running)."""
    result: dict[str, int] = {}
    for unit in units:
        code, output = run(
            container, f"systemctl show -p LoadState -p MainPID --value {unit}.service"
        )
        values = output.split()
        if code == 0 and len(values) == 2 and values[1] == "loaded":
            result[unit] = int(values[0])
    return result
