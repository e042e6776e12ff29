"""From inventory to operations: check every host's data once, derive the wiring, prepare
the artifacts on the controller, and hand each component's spec to the shared mechanism.

Everything here runs while pyinfra prepares the deploy, before it executes anything, so a
refused input stops the run with no host changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra import host as current_host
from pyinfra import logger
from pyinfra.facts.server import Arch

from deploys import grafana, loki, mimir, prometheus, redis_exporter, tempo
from deploys.artifacts import load_lock, lock_entry, prepare_install
from deploys.components import BuildContext, Component
from deploys.errors import ArtifactError, DataError
from deploys.render import REPO_ROOT
from deploys.service import binary_service, unassigned_services
from deploys.settings import STACK_KEYS, Key, host_sources, load_secrets, resolve
from deploys.topology import Topology, build_topology

# Deploy order on a host: storage before the programs that write to it.
COMPONENTS: tuple[Component, ...] = (
    mimir.COMPONENT,
    loki.COMPONENT,
    tempo.COMPONENT,
    redis_exporter.COMPONENT,
    prometheus.COMPONENT,
    grafana.COMPONENT,
)
ROLES = [component.name for component in COMPONENTS]
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def all_keys() -> dict[str, Key]:
    keys: dict[str, Key] = {}
    for key in (*STACK_KEYS, *(k for c in COMPONENTS for k in c.keys)):
        assert key.name not in keys, f"data key {key.name} declared twice"
        keys[key.name] = key
    return keys


@dataclass(frozen=True)
class StackPlan:
    settings: dict[str, dict[str, Any]]
    secrets: dict[str, dict[str, str]]
    topology: Topology
    lock: dict[str, Any]


def _check_host(
    name: str,
    groups: list[str],
    data: dict[str, Any],
    origin: dict[str, str],
    errors: list[str],
) -> None:
    def source(key: str) -> str:
        return f"{key} ({origin.get(key, 'its default')})"

    claimed: dict[int, str] = {}
    for component in COMPONENTS:
        if component.name not in groups:
            continue
        for key in component.port_keys:
            port = data.get(key)
            if not isinstance(port, int):
                continue
            if port in claimed:
                errors.append(
                    f"{name}: {source(key)} and {source(claimed[port])} both claim port {port}"
                )
            claimed[port] = key
    if not data.get("mimir_multitenancy") and data.get("mimir_tenant") != "anonymous":
        errors.append(
            f"{name}: mimir_tenant: is {data.get('mimir_tenant')!r} but mimir_multitenancy is "
            f"off, where the tenant is always 'anonymous'; turn multitenancy on or drop it"
        )


def build_plan(state: Any) -> StackPlan:
    inventory = state.inventory
    keys = all_keys()
    group_data_dir = Path(state.cwd or ".") / "group_data"
    errors: list[str] = []
    settings: dict[str, dict[str, Any]] = {}
    hosts = list(inventory)
    for host in hosts:
        origin: dict[str, str] = {}
        sources = host_sources(inventory, host, group_data_dir)
        values = resolve(keys, sources, errors, host.name, origin)
        settings[host.name] = values
        _check_host(host.name, list(host.groups), values, origin, errors)
        if not any(role in host.groups for role in ROLES):
            errors.append(f"{host.name}: in none of the role groups {', '.join(ROLES)}")

    tenancy = {(s["mimir_multitenancy"], s["mimir_tenant"]) for s in settings.values()}
    if len(tenancy) > 1:
        errors.append(
            f"mimir_multitenancy/mimir_tenant: hosts disagree on the tenant model: "
            f"{sorted(tenancy, key=str)}; remote writes and Grafana must agree"
        )
    if errors:
        raise DataError("refused before changing any host:\n  " + "\n  ".join(errors))

    secrets = {name: load_secrets(keys, values, REPO_ROOT) for name, values in settings.items()}
    lock = _load_and_check_lock(hosts, settings)
    return StackPlan(settings, secrets, build_topology(hosts, settings, ROLES), lock)


def _load_and_check_lock(hosts: list[Any], settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    locks: dict[tuple[str, str], dict[str, Any]] = {}
    problems: list[str] = []
    for host in hosts:
        data = settings[host.name]
        lock_key = (data["artifact_lock_file"], repr(sorted(data["artifact_lock"].items())))
        if lock_key not in locks:
            locks[lock_key] = load_lock(Path(data["artifact_lock_file"]), data["artifact_lock"])
        lock = locks[lock_key]
        for component in COMPONENTS:
            if component.name not in host.groups:
                continue
            version = data[component.version_key]
            if str(version) not in (lock.get(component.name) or {}):
                available = ", ".join(sorted(map(str, lock.get(component.name) or {}))) or "none"
                problems.append(
                    f"{host.name}: {component.version_key}: {version} has no entry in "
                    f"{data['artifact_lock_file']} (it has: {available}); add it with "
                    f"`obs-lock add {component.name} {version}`"
                )
    if problems:
        raise ArtifactError("refused before changing any host:\n  " + "\n  ".join(problems))
    return next(iter(locks.values())) if len(locks) == 1 else {}


def stack_plan(state: Any) -> StackPlan:
    """The plan, built once per run (the deploy file runs once per host)."""
    plan: StackPlan | None = getattr(state, "_gatewayz_plan", None)
    if plan is None:
        plan = build_plan(state)
        state._gatewayz_plan = plan
    return plan


def deploy_stack(state: Any) -> None:
    host = current_host
    plan = stack_plan(state)
    data = plan.settings[host.name]
    machine = host.get_fact(Arch)
    arch = ARCHES.get(machine)
    if arch is None:
        raise ArtifactError(f"{host.name}: no release artifacts for architecture {machine!r}")

    lock = plan.lock or load_lock(Path(data["artifact_lock_file"]), data["artifact_lock"])
    for component in COMPONENTS:
        if component.name not in host.groups:
            continue
        version = str(data[component.version_key])
        lock_entry(lock, data["artifact_lock_file"], component.name, version, arch)
        install = prepare_install(
            component.artifact,
            version,
            arch,
            lock=lock,
            lock_name=data["artifact_lock_file"],
            cache_dir=Path(data["artifact_cache_dir"]),
            offline=data["artifact_offline"],
            mirror=data["artifact_mirror_url"],
        )
        context = BuildContext(host.name, data, plan.secrets[host.name], plan.topology, install)
        spec = component.build(context)
        logger.debug(f"{host.print_prefix}{component.name} {version}: spec ready")
        binary_service(name=f"{component.name}: install, configure and run", spec=spec)

    unassigned = [c.name for c in COMPONENTS if c.name not in host.groups]
    if unassigned:
        unassigned_services(name="stray services: look for them", services=unassigned)
