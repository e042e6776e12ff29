"""Shared fixtures of the unit tests: rendered inventories, parsed files and tools."""

from __future__ import annotations

import configparser
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploys.compose import render_inventory

REPO_ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = REPO_ROOT / "inventories"
ENVIRONMENTS = ("dev", "staging", "prod")
TOOLS = (
    Path(os.environ.get("TEST_ARTIFACT_CACHE", REPO_ROOT / ".cache" / "test-artifacts")) / "tools"
)

# Secrets the staging and prod inventories read from a secrets file outside the repository.
SECRETS = {
    "backend_bearer_token": "test-bearer-token",
    "redis_password": "test-redis-password",
    "grafana_admin_password": "test-admin-password",
    "grafana_smtp_password": "test-smtp-password",
}

Rendered = dict[str, dict[str, bytes]]


@pytest.fixture(scope="session", autouse=True)
def _in_repository() -> Iterator[None]:
    # Group data files and the lock file are read relative to the project directory, as
    # when pyinfra runs there.
    before = Path.cwd()
    os.chdir(REPO_ROOT)
    yield
    os.chdir(before)


@pytest.fixture(scope="session")
def secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "secrets.yaml"
    path.write_text(yaml.safe_dump(SECRETS))
    return path


@pytest.fixture(scope="session")
def render(secrets_file: Path) -> Callable[..., Rendered]:
    """``render(env, compose=False, **data)``: every host's files, cached per arguments.

    Staging and prod name a secrets file in their group data; they get the test secrets
    file instead. Dev has none and gets no secrets. The environment variables that could
    supply secrets are ignored.
    """
    cache: dict[str, Rendered] = {}

    def _render(env: str, compose: bool = False, **data: Any) -> Rendered:
        overrides = dict(data)
        if env != "dev":
            overrides.setdefault("secrets_file", str(secrets_file))
        key = repr((env, compose, sorted(overrides.items())))
        if key not in cache:
            saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("GATEWAYZ_")}
            try:
                cache[key] = render_inventory(
                    INVENTORIES / f"{env}.py", overrides, compose=compose, cwd=REPO_ROOT
                )
            finally:
                os.environ.update(saved)
        return cache[key]

    return _render


def host_with(rendered: Rendered, path: str) -> str:
    """The one host that has the file ``path``."""
    hosts = [host for host, files in rendered.items() if path in files]
    assert len(hosts) == 1, f"{path} rendered on {hosts}, expected exactly one host"
    return hosts[0]


def rendered_file(rendered: Rendered, path: str) -> bytes:
    return rendered[host_with(rendered, path)][path]


def rendered_yaml(rendered: Rendered, path: str) -> Any:
    return yaml.safe_load(rendered_file(rendered, path))


def rendered_ini(rendered: Rendered, path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.read_string(rendered_file(rendered, path).decode())
    return parser


def exec_start(unit: bytes) -> list[str]:
    """The ExecStart command of a rendered unit, as a list of arguments."""
    text = unit.decode().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ExecStart="):
            return line.removeprefix("ExecStart=").split()
    raise AssertionError("the unit has no ExecStart")


def find_tool(name: str) -> Path | None:
    candidate = TOOLS / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


@pytest.fixture(scope="session")
def promtool() -> Path:
    tool = find_tool("promtool")
    if tool is None:
        pytest.skip(
            f"promtool not in {TOOLS} nor on PATH; build the test artifact cache with "
            "`python -m tests.artifacts build --cache .cache/test-artifacts`"
        )
    return tool
