"""Unit tests of the data checks: `deploys.settings.resolve` and `deploys.orchestration.
build_plan`, on inventories built with `pyinfra.api.Inventory` (no host, no CLI)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.api import Inventory

from deploys.errors import ArtifactError, DataError
from deploys.orchestration import all_keys, build_plan
from deploys.settings import Source, host_sources, load_secrets, resolve

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = ["prometheus", "mimir", "loki", "tempo", "redis_exporter", "grafana"]
LOCK = """\
{component}:
  "{version}":
    linux-amd64:
      url: https://example.invalid/{component}-{version}
      sha256: {sha}
"""
REQUIRED = {"stack_environment": "test", "backend_target": "127.0.0.1:8000"}
VERSIONS = {
    "prometheus": "3.5.3",
    "mimir": "2.11.0",
    "loki": "3.4.2",
    "tempo": "2.6.1",
    "redis_exporter": "1.86.0",
    "grafana": "11.5.2",
}


@pytest.fixture
def lock_file(tmp_path: Path) -> Path:
    path = tmp_path / "lock.yaml"
    path.write_text(
        "".join(LOCK.format(component=c, version=v, sha="ab" * 32) for c, v in VERSIONS.items())
    )
    return path


def _inventory(
    hosts: dict[str, dict[str, Any]],
    groups: dict[str, list[str]],
    override: dict[str, Any] | None = None,
) -> Inventory:
    return Inventory(
        (list(hosts.items()), {}),
        override_data=override or {},
        **{name: (members, {}) for name, members in groups.items()},
    )


def _state(inventory: Inventory, group_data: Path) -> Any:
    # build_plan reads group_data/ under state.cwd; an empty directory stands for none.
    return SimpleNamespace(inventory=inventory, cwd=str(group_data.parent))


def _plan(tmp_path: Path, lock_file: Path, host_data: dict[str, Any], **override: Any) -> Any:
    (tmp_path / "group_data").mkdir(exist_ok=True)
    data = {
        **REQUIRED,
        "artifact_lock_file": str(lock_file),
        **{f"{c}_version": v for c, v in VERSIONS.items()},
        **host_data,
    }
    inventory = _inventory({"obs": data}, {role: ["obs"] for role in ROLES}, override)
    return build_plan(_state(inventory, tmp_path / "group_data"))


def test_resolve_takes_the_highest_source_and_fills_defaults() -> None:
    keys = all_keys()
    errors: list[str] = []
    sources = [
        Source("--data", {"loki_http_port": 3200}),
        Source("the inventory (host h)", {"loki_http_port": 3300, **REQUIRED}),
    ]

    values = resolve(keys, sources, errors, "h")

    assert errors == []
    assert values["loki_http_port"] == 3200
    assert values["stack_environment"] == "test"
    assert values["mimir_tenant"] == "anonymous"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"lokii_http_port": 1},
            "src: lokii_http_port: unknown key (did you mean loki_http_port?)",
        ),
        ({"loki_http_port": 0}, "src: loki_http_port: expected a TCP port number (1-65535), got 0"),
        ({"loki_http_port": True}, "src: loki_http_port: expected a TCP port number"),
        ({"artifact_offline": "yes"}, "src: artifact_offline: expected true or false, got 'yes'"),
        ({"loki_retention": "1 day"}, "src: loki_retention: expected a duration"),
        ({"grafana_version": "11"}, "src: grafana_version: expected a release version"),
        ({"backend_scheme": "gopher"}, "src: backend_scheme: expected one of http, https"),
        ({"redis_password": "pw"}, "src: redis_password: is a secret and must not be in data"),
        ({"stack_environment": ""}, "src: stack_environment: expected a one-line string, got ''"),
    ],
)
def test_resolve_names_the_source_and_key_of_a_bad_value(
    data: dict[str, Any], expected: str
) -> None:
    errors: list[str] = []

    resolve(all_keys(), [Source("src", {"stack_environment": "x", **data})], errors, "h")

    assert any(expected in error for error in errors), errors


def test_resolve_reports_a_missing_required_key_with_the_host() -> None:
    errors: list[str] = []

    resolve(all_keys(), [Source("src", {})], errors, "obs-1")

    assert "obs-1: stack_environment: required and not set in any group data" in errors


def test_resolve_ignores_the_connectors_own_keys() -> None:
    errors: list[str] = []
    data = {**REQUIRED, "ssh_port": 22, "_sudo": True, "docker_image": "i"}

    resolve(all_keys(), [Source("src", data)], errors, "h")

    assert errors == []


def test_host_sources_put_override_data_first_and_label_host_data(tmp_path: Path) -> None:
    inventory = _inventory({"obs": {"loki_http_port": 3300}}, {"loki": ["obs"]}, {"a": 1})
    host = inventory.get_host("obs")

    sources = host_sources(inventory, host, tmp_path)

    assert sources[0].label == "--data" and sources[0].data == {"a": 1}
    assert sources[1].label == "the inventory (host obs)"
    assert sources[1].data["loki_http_port"] == 3300


def test_build_plan_accepts_a_valid_single_host_inventory(tmp_path: Path, lock_file: Path) -> None:
    plan = _plan(tmp_path, lock_file, {})

    assert plan.settings["obs"]["loki_http_port"] == 3100
    assert plan.secrets["obs"] == {}
    assert set(plan.lock) == set(VERSIONS)


@pytest.mark.parametrize(
    ("host_data", "override", "expected"),
    [
        (
            {"tempo_http_port": 3100},
            {},
            "obs: tempo_http_port (the inventory (host obs)) and loki_http_port (its default) "
            "both claim port 3100",
        ),
        (
            {},
            {"grafana_port": 9090},
            "obs: grafana_port (--data) and prometheus_port (its default) both claim port 9090",
        ),
        ({"mimir_tenant": "t"}, {}, "obs: mimir_tenant: is 't' but mimir_multitenancy is off"),
        ({}, {"lokiretention": "1h"}, "--data: lokiretention: unknown key"),
        ({"grafana_admin_password": "x"}, {}, "the inventory (host obs): grafana_admin_password"),
    ],
)
def test_build_plan_refuses_bad_data_before_touching_any_host(
    tmp_path: Path,
    lock_file: Path,
    host_data: dict[str, Any],
    override: dict[str, Any],
    expected: str,
) -> None:
    with pytest.raises(DataError, match="refused before changing any host") as refused:
        _plan(tmp_path, lock_file, host_data, **override)

    assert expected in str(refused.value)


def test_build_plan_refuses_a_version_without_a_lock_entry(tmp_path: Path, lock_file: Path) -> None:
    with pytest.raises(ArtifactError) as refused:
        _plan(tmp_path, lock_file, {"loki_version": "9.9.9"})

    assert f"obs: loki_version: 9.9.9 has no entry in {lock_file} (it has: 3.4.2)" in str(
        refused.value
    )


def test_build_plan_refuses_hosts_that_disagree_on_the_tenant_model(
    tmp_path: Path, lock_file: Path
) -> None:
    (tmp_path / "group_data").mkdir()
    common = {
        **REQUIRED,
        "artifact_lock_file": str(lock_file),
        **{f"{c}_version": v for c, v in VERSIONS.items()},
    }
    inventory = _inventory(
        {
            "a": {**common, "mimir_multitenancy": True, "mimir_tenant": "team"},
            "b": common,
        },
        {"mimir": ["a"], "prometheus": ["b"]},
    )

    with pytest.raises(DataError) as refused:
        build_plan(_state(inventory, tmp_path / "group_data"))

    assert "mimir_multitenancy/mimir_tenant: hosts disagree on the tenant model" in str(
        refused.value
    )


def test_build_plan_refuses_a_host_in_no_role_group(tmp_path: Path, lock_file: Path) -> None:
    (tmp_path / "group_data").mkdir()
    inventory = _inventory({"lonely": {"stack_environment": "t"}}, {})

    with pytest.raises(DataError) as refused:
        build_plan(_state(inventory, tmp_path / "group_data"))

    assert "lonely: in none of the role groups" in str(refused.value)


def test_secrets_come_from_the_environment_before_the_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("redis_password: from-file\nbackend_bearer_token: token\n")
    monkeypatch.setenv("GATEWAYZ_REDIS_PASSWORD", "from-env")

    secrets = load_secrets(all_keys(), {"secrets_file": str(secrets_file)}, REPO_ROOT)

    assert secrets == {"redis_password": "from-env", "backend_bearer_token": "token"}


def test_a_secrets_file_inside_the_repository_is_refused() -> None:
    with pytest.raises(DataError, match="is inside the repository"):
        load_secrets(all_keys(), {"secrets_file": str(REPO_ROOT / "secrets.yaml")}, REPO_ROOT)


def test_a_secrets_file_with_a_key_that_is_not_a_secret_is_refused(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text("loki_http_port: 1\n")

    with pytest.raises(DataError, match="loki_http_port: not a secret this stack reads"):
        load_secrets(all_keys(), {"secrets_file": str(secrets_file)}, REPO_ROOT)


@pytest.mark.parametrize(
    "value",
    ["admin\n[auth.anonymous]\nenabled = true", "smtp.example.com\r\n", "tab\there"],
)
def test_a_string_setting_with_a_line_break_or_control_character_is_refused(value):
    errors: list[str] = []
    resolve(all_keys(), [Source("src", {"grafana_admin_user": value})], errors, "h")
    assert any("grafana_admin_user: expected a one-line string" in e for e in errors), errors


@pytest.mark.parametrize(
    "override",
    [
        {"prometheus": "x"},
        {"prometheus": {"3.5.3": {"linux-amd64": "oops"}}},
        {"prometheus": {"3.5.3": {"linux-amd64": {"url": "u", "sha": "s"}}}},
    ],
)
def test_a_malformed_lock_override_is_refused_naming_the_key(override):
    errors: list[str] = []
    resolve(all_keys(), [Source("--data", {"artifact_lock": override})], errors, "h")
    assert any(e.startswith("--data: artifact_lock: expected lock entries") for e in errors), errors
