"""Grafana as rendered for each inventory: STACK.md section 6 (datasources and settings),
and the tenant model of section 3 across Prometheus, Tempo and Grafana."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.conftest import (
    ENVIRONMENTS,
    host_with,
    rendered_file,
    rendered_ini,
    rendered_yaml,
)

DATASOURCES = "/etc/grafana/provisioning/datasources/gatewayz.yaml"
DASHBOARDS = "/etc/grafana/provisioning/dashboards/gatewayz.yaml"
INI = "/etc/grafana/grafana.ini"
URLS = {
    "dev": {
        "Prometheus": "http://127.0.0.1:9090",
        "Mimir": "http://127.0.0.1:9009/prometheus",
        "Loki": "http://127.0.0.1:3100",
        "Tempo": "http://127.0.0.1:3200",
    },
    "prod": {
        "Prometheus": "http://198.51.100.11:9090",
        "Mimir": "http://198.51.100.21:9009/prometheus",
        "Loki": "http://198.51.100.31:3100",
        "Tempo": "http://198.51.100.41:3200",
    },
}
URLS["staging"] = URLS["dev"]
TENANT = {"mimir_multitenancy": True, "mimir_tenant": "gatewayz"}


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {source["name"]: source for source in document["datasources"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_datasources_have_fixed_uids_types_and_inventory_urls(render, env) -> None:
    sources = by_name(rendered_yaml(render(env), DATASOURCES))

    assert {name: (s["uid"], s["type"]) for name, s in sources.items()} == {
        "Prometheus": ("grafana_prometheus", "prometheus"),
        "Mimir": ("grafana_mimir", "prometheus"),
        "Loki": ("grafana_loki", "loki"),
        "Tempo": ("grafana_tempo", "tempo"),
    }
    assert {name: s["url"] for name, s in sources.items()} == URLS[env]
    assert [name for name, s in sources.items() if s.get("isDefault")] == ["Prometheus"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_metrics_datasources_link_exemplars_to_tempo(render, env) -> None:
    sources = by_name(rendered_yaml(render(env), DATASOURCES))
    mimir = sources["Mimir"]["jsonData"]

    for name in ("Prometheus", "Mimir"):
        destinations = sources[name]["jsonData"]["exemplarTraceIdDestinations"]
        assert [d["datasourceUid"] for d in destinations] == ["grafana_tempo"], name
    assert mimir["httpMethod"] == "POST"
    assert mimir["timeout"] == 60


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_loki_lines_link_their_trace_id_to_tempo(render, env) -> None:
    (field,) = by_name(rendered_yaml(render(env), DATASOURCES))["Loki"]["jsonData"]["derivedFields"]

    assert field["name"] == "TraceID"
    assert field["datasourceUid"] == "grafana_tempo"
    match = re.search(field["matcherRegex"], 'level=error msg="boom" trace_id=4bf92f3577b34da6')
    assert match is not None and match.group(1) == "4bf92f3577b34da6"
    # Grafana turns $$ into $ when it reads provisioning files.
    assert field["url"].replace("$$", "$") == "${__value.raw}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tempo_links_to_logs_metrics_and_the_service_map(render, env) -> None:
    tempo = by_name(rendered_yaml(render(env), DATASOURCES))["Tempo"]["jsonData"]

    assert tempo["tracesToLogsV2"]["datasourceUid"] == "grafana_loki"
    assert tempo["tracesToMetrics"]["datasourceUid"] == "grafana_mimir"
    assert tempo["serviceMap"]["datasourceUid"] == "grafana_mimir"
    assert tempo["nodeGraph"]["enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_grafana_settings_take_secrets_from_files(render, env) -> None:
    rendered = render(env)
    ini = rendered_ini(rendered, INI)
    files = rendered[host_with(rendered, INI)]

    assert ini["server"]["http_port"] == "3000"
    assert ini["paths"]["provisioning"] == "/etc/grafana/provisioning"
    assert ini["unified_alerting"]["enabled"] == "true"
    if env == "dev":
        assert "admin_password" not in ini["security"]
        assert not any(path.startswith("/etc/grafana/secrets/") for path in files)
    else:
        assert ini["security"]["admin_password"] == ("$__file{/etc/grafana/secrets/admin_password}")
        assert ini["smtp"]["password"] == "$__file{/etc/grafana/secrets/smtp_password}"
        assert files["/etc/grafana/secrets/admin_password"] == b"test-admin-password"
        assert b"test-" not in files[INI]


def test_prod_sends_alert_mail_through_the_smtp_settings_of_its_group_data(render) -> None:
    smtp = rendered_ini(render("prod"), INI)["smtp"]

    assert dict(smtp) == {
        "enabled": "true",
        "host": "smtp.example.com:587",
        "user": "alerts@example.com",
        "password": "$__file{/etc/grafana/secrets/smtp_password}",
        "from_address": "alerts@example.com",
        "from_name": "GatewayZ Observability",
    }


def test_dashboards_are_provisioned_from_their_folder(render) -> None:
    providers = rendered_yaml(render("dev"), DASHBOARDS)["providers"]

    assert providers
    for provider in providers:
        assert provider["type"] == "file", provider["name"]
        assert provider["options"]["path"].startswith("/etc/grafana/dashboards"), provider["name"]


# -- the tenant model ------------------------------------------------------------------------


def tenant_headers(rendered) -> dict[str, Any]:
    """Where each writer or reader of Mimir states its tenant, None when it states none."""
    (remote_write,) = rendered_yaml(rendered, "/etc/prometheus/prometheus.yml")["remote_write"]
    tempo = rendered_yaml(rendered, "/etc/tempo/tempo.yaml")
    (generator,) = tempo["metrics_generator"]["storage"]["remote_write"]
    mimir_source = by_name(rendered_yaml(rendered, DATASOURCES))["Mimir"]
    names = {k: v for k, v in mimir_source["jsonData"].items() if k.startswith("httpHeaderName")}
    values = mimir_source.get("secureJsonData", {})
    grafana = {name: values.get(key.replace("Name", "Value")) for key, name in names.items()}
    return {
        "prometheus": (remote_write.get("headers") or {}).get("X-Scope-OrgID"),
        "tempo": (generator.get("headers") or {}).get("X-Scope-OrgID"),
        "grafana": grafana.get("X-Scope-OrgID"),
    }


def mentions(value: Any, needle: str) -> bool:
    if isinstance(value, dict):
        return any(mentions(k, needle) or mentions(v, needle) for k, v in value.items())
    if isinstance(value, list):
        return any(mentions(v, needle) for v in value)
    return isinstance(value, str) and needle.lower() in value.lower()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_with_multitenancy_every_mimir_client_sends_the_same_tenant(render, env) -> None:
    rendered = render(env, **TENANT)

    assert tenant_headers(rendered) == {
        "prometheus": "gatewayz",
        "tempo": "gatewayz",
        "grafana": "gatewayz",
    }
    assert rendered_yaml(rendered, "/etc/mimir/mimir.yaml")["multitenancy_enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_without_multitenancy_no_file_names_a_tenant_header(render, env) -> None:
    rendered = render(env)

    assert tenant_headers(rendered) == {"prometheus": None, "tempo": None, "grafana": None}
    for host, files in rendered.items():
        for path, content in files.items():
            if path.endswith((".yml", ".yaml")):
                assert not mentions(rendered_yaml({host: files}, path), "X-Scope-OrgID"), path
            else:
                assert b"x-scope-orgid" not in content.lower(), path


def test_only_the_mimir_datasource_sends_a_tenant(render) -> None:
    sources = by_name(rendered_yaml(render("dev", **TENANT), DATASOURCES))

    assert [name for name, source in sources.items() if mentions(source, "X-Scope-OrgID")] == [
        "Mimir"
    ]
    assert rendered_file(render("dev", **TENANT), DATASOURCES).count(b"X-Scope-OrgID") == 1
