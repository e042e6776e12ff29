"""Prometheus as rendered for each inventory: STACK.md section 2, value by value."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import ENVIRONMENTS, exec_start, host_with, rendered_file, rendered_yaml

CONFIG = "/etc/prometheus/prometheus.yml"
UNIT = "/etc/systemd/system/prometheus.service"
TOKEN_FILE = "/etc/prometheus/secrets/backend_bearer_token"

BACKEND = {
    # env: (target, scheme, env label, bearer token expected)
    "dev": ("127.0.0.1:8000", "http", "dev", False),
    "staging": ("api.staging.example.com:443", "https", "staging", True),
    "prod": ("api.gatewayz.ai:443", "https", "production", True),
}
# What the other components are reached at, from the Prometheus host.
STACK_TARGETS = {
    "dev": {
        "redis_exporter": "127.0.0.1:9121",
        "mimir": "127.0.0.1:9009",
        "tempo": "127.0.0.1:3200",
        "loki": "127.0.0.1:3100",
    },
    "staging": {
        "redis_exporter": "127.0.0.1:9121",
        "mimir": "127.0.0.1:9009",
        "tempo": "127.0.0.1:3200",
        "loki": "127.0.0.1:3100",
    },
    "prod": {
        "redis_exporter": "198.51.100.51:9121",
        "mimir": "198.51.100.21:9009",
        "tempo": "198.51.100.41:3200",
        "loki": "198.51.100.31:3100",
    },
}
RETENTION = {"dev": "15d", "staging": "7d", "prod": "15d"}


def jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    names = [job["job_name"] for job in config["scrape_configs"]]
    assert len(names) == len(set(names)), f"duplicate job names: {names}"
    return {job["job_name"]: job for job in config["scrape_configs"]}


def only_static(job: dict[str, Any]) -> dict[str, Any]:
    (static,) = job["static_configs"]
    return static


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_global_settings_and_external_labels_follow_the_environment(render, env) -> None:
    config = rendered_yaml(render(env), CONFIG)

    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["external_labels"] == {
        "cluster": "gatewayz-monitoring",
        "environment": {"prod": "production"}.get(env, env),
    }
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_retention_is_a_flag_of_the_unit(render, env) -> None:
    args = exec_start(rendered_file(render(env), UNIT))

    assert f"--storage.tsdb.retention.time={RETENTION[env]}" in args
    assert "--config.file=/etc/prometheus/prometheus.yml" in args
    assert "--web.listen-address=0.0.0.0:9090" in args


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_stack_is_scraped_at_its_intervals_timeouts_and_labels(render, env) -> None:
    by_name = jobs(rendered_yaml(render(env), CONFIG))
    targets = STACK_TARGETS[env]

    assert only_static(by_name["prometheus"]) == {"targets": ["127.0.0.1:9090"]}
    assert by_name["prometheus"].get("metrics_path", "/metrics") == "/metrics"
    assert by_name["prometheus"].get("scrape_interval", "15s") == "15s"

    expected = {
        # job: (interval, timeout, constant labels)
        "redis_exporter": ("30s", "10s", {"component": "redis"}),
        "mimir": ("30s", "10s", {"component": "mimir"}),
        "tempo": ("15s", "10s", None),
        "loki": ("30s", "10s", {"component": "loki"}),
    }
    for name, (interval, timeout, labels) in expected.items():
        job = by_name[name]
        assert job.get("metrics_path", "/metrics") == "/metrics", name
        assert (job["scrape_interval"], job["scrape_timeout"]) == (interval, timeout), name
        assert job.get("scheme", "http") == "http", name
        static = only_static(job)
        assert static["targets"] == [targets[name]], name
        assert static.get("labels") == labels, name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_backend_jobs_use_the_data_target_scheme_token_and_labels(render, env) -> None:
    by_name = jobs(rendered_yaml(render(env), CONFIG))
    target, scheme, env_label, with_token = BACKEND[env]

    api = by_name["gatewayz_production"]
    data_metrics = by_name["gatewayz_data_metrics_production"]
    assert (api["metrics_path"], api["scrape_interval"], api["scrape_timeout"]) == (
        "/metrics",
        "15s",
        "10s",
    )
    assert (
        data_metrics["metrics_path"],
        data_metrics["scrape_interval"],
        data_metrics["scrape_timeout"],
    ) == ("/prometheus/data/metrics", "30s", "15s")
    assert only_static(api) == {"targets": [target], "labels": {"env": env_label}}
    assert only_static(data_metrics) == {
        "targets": [target],
        "labels": {"env": env_label, "source": "prometheus_data"},
    }
    for job in (api, data_metrics):
        assert job["scheme"] == scheme
        if with_token:
            assert job["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_FILE}
        else:
            assert "authorization" not in job


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_bearer_token_is_a_secret_file_beside_the_config(render, env) -> None:
    rendered = render(env)

    assert rendered[host_with(rendered, CONFIG)][TOKEN_FILE] == b"test-bearer-token"
    assert b"test-bearer-token" not in rendered_file(rendered, CONFIG)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_remote_write_goes_to_mimir_with_the_queue_and_metadata_settings(render, env) -> None:
    config = rendered_yaml(render(env), CONFIG)
    (remote_write,) = config["remote_write"]
    mimir = STACK_TARGETS[env]["mimir"]

    assert remote_write["name"] == "mimir-remote-write"
    assert remote_write["url"] == f"http://{mimir}/api/v1/push"
    assert remote_write["remote_timeout"] == "30s"
    assert remote_write["queue_config"] == {
        "capacity": 10000,
        "max_shards": 50,
        "max_samples_per_send": 2000,
        "batch_send_deadline": "5s",
        "min_backoff": "30ms",
        "max_backoff": "5s",
    }
    assert remote_write["metadata_config"] == {"send": True, "send_interval": "1m"}
    assert "headers" not in remote_write


def test_prometheus_3_falls_back_to_text_for_the_data_metrics_route(render) -> None:
    by_name = jobs(rendered_yaml(render("dev"), CONFIG))

    fallback = by_name["gatewayz_data_metrics_production"]["fallback_scrape_protocol"]
    assert fallback == "PrometheusText0.0.4"
    assert "fallback_scrape_protocol" not in by_name["gatewayz_production"]


PROMETHEUS_2 = {
    "prometheus_version": "2.53.3",
    "artifact_lock": {
        "prometheus": {
            "2.53.3": {
                "linux-amd64": {
                    "url": "https://github.com/prometheus/prometheus/releases/download/v2.53.3/"
                    "prometheus-2.53.3.linux-amd64.tar.gz",
                    "sha256": "0" * 64,
                }
            }
        }
    },
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prometheus_2_gets_no_fallback_scrape_protocol(render, env) -> None:
    config = rendered_yaml(render(env, **PROMETHEUS_2), CONFIG)

    for job in config["scrape_configs"]:
        assert "fallback_scrape_protocol" not in job, job["job_name"]
    assert jobs(config)["gatewayz_data_metrics_production"]["metrics_path"] == (
        "/prometheus/data/metrics"
    )


def test_extra_scrape_configs_are_appended_as_written(render) -> None:
    extra = {"job_name": "node", "static_configs": [{"targets": ["127.0.0.1:9100"]}]}
    config = rendered_yaml(render("dev", prometheus_extra_scrape_configs=[extra]), CONFIG)

    assert config["scrape_configs"][-1] == extra
