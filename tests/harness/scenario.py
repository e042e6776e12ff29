"""Scenario files: `molecule/<scenario>/molecule.yml`, read and validated.

The format is documented in molecule/README.md. Every error names the file and the key at fault,
so a typo is reported before any container is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ScenarioError
from .images import RECIPES

STAGES = ("create", "prepare", "converge", "idempotence", "verify", "destroy")
DEFAULT_SEQUENCE = list(STAGES)
CONNECTIONS = ("ssh",)
PLANNED_CONNECTIONS = ("docker",)

# A platform name is a container name, a pyinfra host name and a DNS name on the scenario network.
NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ENVIRONMENT_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Platform:
    name: str
    image: str
    groups: tuple[str, ...]
    published_ports: dict[int, int]
    sample_backend: bool


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    platforms: tuple[Platform, ...]
    connection: str
    environment: str
    group_vars: dict[str, dict[str, Any]]
    host_vars: dict[str, dict[str, Any]]
    test_sequence: tuple[str, ...]
    verifier_tests: str
    deploy: str = "deploys/stack.py"
    extra: dict[str, Any] = field(default_factory=dict)

    def platform(self, name: str) -> Platform:
        for platform in self.platforms:
            if platform.name == name:
                return platform
        raise KeyError(name)


class _Checker:
    """Walks one parsed file and raises ScenarioError with `<file>: <key path>: <problem>`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}")
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}", f"unknown key; allowed: {sorted(allowed)}")
        for name in sorted(required):
            if name not in value:
                raise self.fail(f"{key}.{name}", "is required")
        return value

    def string(self, value: Any, key: str, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a non-empty string")
        if choices is not None and value not in choices:
            raise self.fail(key, f"{value!r} is not one of {list(choices)}")
        return value

    def port(self, value: Any, key: str, allow_zero: bool) -> int:
        low = 0 if allow_zero else 1
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
            raise self.fail(key, f"must be a port number {low}..65535, got {value!r}")
        return value

    def variables(self, value: Any, key: str) -> dict[str, dict[str, Any]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping of name -> mapping of data")
        result: dict[str, dict[str, Any]] = {}
        for name, data in value.items():
            if not isinstance(name, str):
                raise self.fail(f"{key}.{name}", "names must be strings")
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise self.fail(f"{key}.{name}", "must be a mapping of data keys to values")
            for data_key in data:
                if not isinstance(data_key, str) or not data_key.isidentifier():
                    raise self.fail(f"{key}.{name}.{data_key}", "data keys must be identifiers")
            result[name] = dict(data)
        return result


def scenario_path(root: Path, name: str) -> Path:
    return root / "molecule" / name / "molecule.yml"


def list_scenarios(root: Path) -> list[str]:
    return sorted(path.parent.name for path in (root / "molecule").glob("*/molecule.yml"))


def load_scenario(root: Path, name: str) -> Scenario:
    """Read and validate `molecule/<name>/molecule.yml` under the repository root."""
    path = scenario_path(root, name)
    if not path.exists():
        known = ", ".join(list_scenarios(root)) or "none"
        raise ScenarioError(f"{path}: no such scenario file (known scenarios: {known})")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from error

    relative = path.relative_to(root) if path.is_relative_to(root) else path
    check = _Checker(relative)
    top = check.mapping(
        document,
        "(top level)",
        allowed={"driver", "platforms", "provisioner", "scenario", "verifier"},
        required={"driver", "platforms", "provisioner"},
    )

    driver = check.mapping(top["driver"], "driver", allowed={"name"}, required={"name"})
    check.string(driver["name"], "driver.name", choices=("docker",))

    platforms = _platforms(check, top["platforms"])

    provisioner = check.mapping(
        top["provisioner"],
        "provisioner",
        allowed={"name", "connection", "environment", "inventory"},
        required={"name", "environment"},
    )
    check.string(provisioner["name"], "provisioner.name", choices=("pyinfra",))
    connection = check.string(
        provisioner.get("connection", "ssh"),
        "provisioner.connection",
        choices=CONNECTIONS + PLANNED_CONNECTIONS,
    )
    if connection in PLANNED_CONNECTIONS:
        raise check.fail(
            "provisioner.connection",
            f"{connection!r} is reserved for a future connector; only 'ssh' works today",
        )
    environment = check.string(provisioner["environment"], "provisioner.environment")
    if not ENVIRONMENT_PATTERN.match(environment):
        raise check.fail("provisioner.environment", "must match [a-z][a-z0-9_]* (a file name)")

    inventory = check.mapping(
        provisioner.get("inventory") or {},
        "provisioner.inventory",
        allowed={"group_vars", "host_vars"},
        required=set(),
    )
    group_vars = check.variables(inventory.get("group_vars"), "provisioner.inventory.group_vars")
    host_vars = check.variables(inventory.get("host_vars"), "provisioner.inventory.host_vars")
    platform_names = {platform.name for platform in platforms}
    for host in host_vars:
        if host not in platform_names:
            raise check.fail(
                f"provisioner.inventory.host_vars.{host}",
                f"is not a platform name; platforms: {sorted(platform_names)}",
            )

    sequence_section = check.mapping(
        top.get("scenario") or {}, "scenario", allowed={"test_sequence"}, required=set()
    )
    sequence = sequence_section.get("test_sequence", DEFAULT_SEQUENCE)
    if not isinstance(sequence, list) or not sequence:
        raise check.fail("scenario.test_sequence", "must be a non-empty list of stages")
    for index, stage in enumerate(sequence):
        check.string(stage, f"scenario.test_sequence[{index}]", choices=STAGES)

    verifier = check.mapping(
        top.get("verifier") or {"name": "pytest", "tests": f"tests/e2e/test_{name}.py"},
        "verifier",
        allowed={"name", "tests"},
        required={"name", "tests"},
    )
    check.string(verifier["name"], "verifier.name", choices=("pytest",))
    tests = check.string(verifier["tests"], "verifier.tests")
    if "verify" in sequence and not sorted(root.glob(tests)):
        raise check.fail("verifier.tests", f"{tests} matches no file under {root}")

    return Scenario(
        name=name,
        path=path,
        platforms=tuple(platforms),
        connection=connection,
        environment=environment,
        group_vars=group_vars,
        host_vars=host_vars,
        test_sequence=tuple(sequence),
        verifier_tests=tests,
    )


def _platforms(check: _Checker, value: Any) -> list[Platform]:
    if not isinstance(value, list) or not value:
        raise check.fail("platforms", "must be a non-empty list")

    platforms: list[Platform] = []
    seen: set[str] = set()
    host_ports: dict[int, str] = {}
    for index, item in enumerate(value):
        key = f"platforms[{index}]"
        entry = check.mapping(
            item,
            key,
            allowed={"name", "image", "groups", "published_ports", "sample_backend"},
            required={"name", "image"},
        )
        name = check.string(entry["name"], f"{key}.name")
        if not NAME_PATTERN.match(name):
            raise check.fail(f"{key}.name", "must be a DNS label: lowercase letters, digits, '-'")
        if name in seen:
            raise check.fail(f"{key}.name", f"{name!r} is used by another platform")
        seen.add(name)

        image = check.string(entry["image"], f"{key}.image", choices=tuple(sorted(RECIPES)))

        groups = entry.get("groups") or []
        if not isinstance(groups, list):
            raise check.fail(f"{key}.groups", "must be a list of group names")
        for group_index, group in enumerate(groups):
            check.string(group, f"{key}.groups[{group_index}]")
            if not group.isidentifier():
                raise check.fail(f"{key}.groups[{group_index}]", "must be an identifier")

        ports_value = entry.get("published_ports") or {}
        if not isinstance(ports_value, dict):
            raise check.fail(f"{key}.published_ports", "must map container port -> host port")
        ports: dict[int, int] = {}
        for container_port, host_port in ports_value.items():
            port_key = f"{key}.published_ports.{container_port}"
            container_port = check.port(container_port, port_key, allow_zero=False)
            host_port = check.port(host_port, port_key, allow_zero=True)
            if host_port and host_port in host_ports:
                raise check.fail(
                    port_key, f"host port {host_port} is also used by {host_ports[host_port]}"
                )
            if host_port:
                host_ports[host_port] = port_key
            ports[container_port] = host_port
        # SSH is how pyinfra reaches the platform, so port 22 is published even when not listed.
        ports.setdefault(22, 0)

        sample_backend = entry.get("sample_backend", False)
        if not isinstance(sample_backend, bool):
            raise check.fail(f"{key}.sample_backend", "must be true or false")

        platforms.append(
            Platform(
                name=name,
                image=image,
                groups=tuple(groups),
                published_ports=ports,
                sample_backend=sample_backend,
            )
        )
    return platforms
