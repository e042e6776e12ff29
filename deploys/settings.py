"""The schema of every data key the deploys read, and its single default.

Each key is declared once, here for stack-wide keys and in the component's module for the
rest. Before any host is touched, every key in the inventory, group data and ``--data``
is checked against the schema: unknown keys, wrong types and values out of range are
refused with a message naming the key and the file it came from.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deploys.errors import DataError


class Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = Required()

# Keys that belong to pyinfra and its connectors, not to us.
FOREIGN_PREFIXES = ("_", "ssh_", "docker_", "dockerssh_", "local_", "chroot_", "winrm_", "podman_")


@dataclass(frozen=True)
class Kind:
    """A value type: ``describe`` reads as "expected <describe>"."""

    describe: str
    accepts: Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _one_line(value: object) -> bool:
    """A string without line breaks or other control characters: values end up inside
    INI and YAML lines, where a line break would add settings of its own."""
    return isinstance(value, str) and not any(ord(c) < 32 or ord(c) == 127 for c in value)


TEXT = Kind("a one-line string", lambda v: _one_line(v) and v != "")
OPTIONAL_TEXT = Kind("a one-line string or None", lambda v: v is None or _one_line(v))
BOOLEAN = Kind("true or false", lambda v: isinstance(v, bool))
PORT = Kind("a TCP port number (1-65535)", lambda v: _is_int(v) and 1 <= v <= 65535)
POSITIVE = Kind("a whole number above zero", lambda v: _is_int(v) and v > 0)
NUMBER = Kind("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
DURATION = Kind(
    "a duration such as 30s, 15m, 720h or 15d",
    lambda v: isinstance(v, str) and re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", v) is not None,
)
VERSION = Kind(
    "a release version such as 3.2.1",
    lambda v: isinstance(v, str) and re.fullmatch(r"\d+\.\d+\.\d+([-+.][\w.]+)?", v) is not None,
)
DATE = Kind(
    "a date such as 2024-01-01",
    lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) is not None,
)
HOST_PORT = Kind(
    "host:port",
    lambda v: isinstance(v, str) and re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", v) is not None,
)
ABSOLUTE_PATH = Kind(
    "an absolute path without spaces",
    lambda v: (
        isinstance(v, str) and v.startswith("/") and re.fullmatch(r"/[\w./\-]*", v) is not None
    ),
)
OPTIONAL_URL = Kind(
    "an http(s) or file URL, or None",
    lambda v: v is None or (isinstance(v, str) and re.match(r"(https?|file)://", v) is not None),
)
MAPPING = Kind("a mapping", lambda v: isinstance(v, dict))


def _lock_entries(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    for versions in value.values():
        if not isinstance(versions, dict):
            return False
        for platforms in versions.values():
            if not isinstance(platforms, dict):
                return False
            for entry in platforms.values():
                if not isinstance(entry, dict) or not set(entry) <= {"url", "sha256"}:
                    return False
                if not all(_one_line(v) for v in entry.values()):
                    return False
    return True


LOCK_ENTRIES = Kind(
    "lock entries: {component: {version: {linux-<arch>: {url: ..., sha256: ...}}}}",
    _lock_entries,
)
STRING_LIST = Kind(
    "a list of one-line strings",
    lambda v: isinstance(v, list | tuple) and all(_one_line(i) for i in v),
)
NUMBER_LIST = Kind(
    "a list of numbers", lambda v: isinstance(v, list | tuple) and all(NUMBER.accepts(i) for i in v)
)
LABELS = Kind(
    "a mapping of label names to strings",
    lambda v: (
        isinstance(v, dict)
        and all(
            isinstance(k, str) and re.fullmatch(r"[a-zA-Z_]\w*", k) and _one_line(i)
            for k, i in v.items()
        )
    ),
)


def choice(*values: str) -> Kind:
    return Kind("one of " + ", ".join(values), lambda v: v in values)


@dataclass(frozen=True)
class Key:
    """One data key.

    + name: the key as written in group data
    + kind: its type
    + default: its one default, or REQUIRED
    + doc: what it sets (and, for upstream settings, which flag or field)
    + secret: read from the environment or the secrets file, never from data
    """

    name: str
    kind: Kind
    default: Any
    doc: str
    secret: bool = False


SECRET = Kind("a secret string", lambda v: v is None or isinstance(v, str))


STACK_KEYS: tuple[Key, ...] = (
    Key(
        "stack_environment",
        TEXT,
        REQUIRED,
        "Environment name: the `environment` external label and part of every alert.",
    ),
    Key(
        "stack_cluster",
        TEXT,
        "gatewayz-monitoring",
        "The `cluster` external label Prometheus adds to every series it sends.",
    ),
    Key(
        "advertise_address",
        OPTIONAL_TEXT,
        None,
        "Address the other stack hosts use to reach this host (host data); "
        "default: the host's inventory name.",
    ),
    Key(
        "artifact_lock_file",
        TEXT,
        "artifacts.lock.yaml",
        "The lock: version, URL and sha256 of every release artifact, per architecture.",
    ),
    Key(
        "artifact_lock",
        LOCK_ENTRIES,
        {},
        "Lock entries that override the lock file's, same shape as the file.",
    ),
    Key(
        "artifact_cache_dir",
        TEXT,
        ".cache/artifacts",
        "Controller directory holding downloaded archives and unpacked install trees.",
    ),
    Key(
        "artifact_offline",
        BOOLEAN,
        False,
        "Refuse every download: only verified files already in the cache are used.",
    ),
    Key(
        "artifact_mirror_url",
        OPTIONAL_URL,
        None,
        "Fetch from this mirror instead of upstream: <mirror>/<upstream host>/<path>.",
    ),
    Key(
        "secrets_file",
        OPTIONAL_TEXT,
        None,
        "YAML file on the controller, outside the repository, holding the secret keys; "
        "each may instead come from the environment as GATEWAYZ_<KEY IN CAPITALS>.",
    ),
    Key(
        "uninstall_components",
        STRING_LIST,
        [],
        "deploys/uninstall.py only: components to remove; empty means those of the host's "
        "role groups.",
    ),
    Key(
        "mimir_multitenancy",
        BOOLEAN,
        False,
        "Tenant model: off sends everything as tenant `anonymous`; on uses mimir_tenant.",
    ),
    Key(
        "mimir_tenant",
        TEXT,
        "anonymous",
        "Tenant (X-Scope-OrgID) used by remote writes and Grafana when multitenancy is on.",
    ),
)


@dataclass(frozen=True)
class Source:
    label: str
    data: dict[str, Any]


def group_data_keys(path: Path) -> set[str]:
    """Names a group data file assigns at its top level (read without running it)."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, ast.AnnAssign) else [])
        )
        for target in targets:
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


def host_sources(inventory: Any, host: Any, group_data_dir: Path) -> list[Source]:
    """Where each of a host's data keys can come from, highest precedence first."""
    sources = [
        Source("--data", dict(inventory.get_override_data())),
        Source(f"the inventory (host {host.name})", dict(inventory.get_host_data(host.name))),
    ]
    for group in reversed(list(host.groups)):
        data = dict(inventory.get_group_data(group))
        file = group_data_dir / f"{group}.py"
        from_file = group_data_keys(file) if file.exists() else set()
        in_file = {k: v for k, v in data.items() if k in from_file}
        inline = {k: v for k, v in data.items() if k not in from_file}
        sources.append(Source(str(file), in_file))
        sources.append(Source(f"the inventory (group {group})", inline))
    all_file = group_data_dir / "all.py"
    sources.append(Source(str(all_file), dict(inventory.get_data())))
    return sources


def resolve(
    keys: dict[str, Key],
    sources: list[Source],
    errors: list[str],
    host_name: str,
    origin: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Effective values of every key for one host; problems are appended to ``errors``, and
    where each value came from to ``origin`` (absent: the default)."""
    values: dict[str, Any] = {}
    origin = {} if origin is None else origin
    for source in reversed(sources):
        for name, value in source.data.items():
            if name.startswith("__") or name.startswith(FOREIGN_PREFIXES):
                continue
            if name not in keys:
                hint = _closest(name, keys)
                errors.append(f"{source.label}: {name}: unknown key{hint}")
                continue
            if keys[name].secret and value is not None:
                errors.append(
                    f"{source.label}: {name}: is a secret and must not be in data; set "
                    f"GATEWAYZ_{name.upper()} or put it in the secrets_file"
                )
                continue
            values[name], origin[name] = value, source.label
    for name, key in keys.items():
        if name not in values:
            if key.default is REQUIRED and not key.secret:
                errors.append(f"{host_name}: {name}: required and not set in any group data")
            values[name] = None if key.default is REQUIRED else key.default
            continue
        if not key.kind.accepts(values[name]):
            errors.append(
                f"{origin[name]}: {name}: expected {key.kind.describe}, got {values[name]!r}"
            )
    return values


def _closest(name: str, keys: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(keys), n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def load_secrets(keys: dict[str, Key], values: dict[str, Any], repo_root: Path) -> dict[str, str]:
    """Secret values from the environment, then the secrets file; never from data."""
    from_file: dict[str, Any] = {}
    secrets_file = values.get("secrets_file")
    if secrets_file:
        path = Path(secrets_file).expanduser().resolve()
        if path.is_relative_to(repo_root.resolve()):
            raise DataError(
                f"secrets_file: {secrets_file} is inside the repository; keep secrets outside it"
            )
        try:
            from_file = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise DataError(f"secrets_file: {path}: cannot read it: {error}") from None
        if not isinstance(from_file, dict):
            raise DataError(f"secrets_file: {path}: must map secret names to values")
        unknown = sorted(k for k in from_file if k not in keys or not keys[k].secret)
        if unknown:
            raise DataError(f"{path}: {unknown[0]}: not a secret this stack reads")
    secrets: dict[str, str] = {}
    for name, key in keys.items():
        if not key.secret:
            continue
        value = os.environ.get(f"GATEWAYZ_{name.upper()}", from_file.get(name))
        if value is not None:
            secrets[name] = str(value)
    return secrets
