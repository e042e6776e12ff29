"""Mimir, Loki and Tempo as rendered for each inventory: STACK.md sections 3, 4 and 5."""

from __future__ import annotations

import pytest

from tests.unit.conftest import ENVIRONMENTS, exec_start, rendered_file, rendered_yaml

MIMIR = "/etc/mimir/mimir.yaml"
LOKI = "/etc/loki/loki.yaml"
TEMPO = "/etc/tempo/tempo.yaml"
MIMIR_PUSH = {
    "dev": "http://127.0.0.1:9009/api/v1/push",
    "staging": "http://127.0.0.1:9009/api/v1/push",
    "prod": "http://198.51.100.21:9009/api/v1/push",
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_mimir_is_monolithic_with_a_directory_per_store(render, env) -> None:
    config = rendered_yaml(render(env), MIMIR)

    assert config["target"] == "all"
    assert config["multitenancy_enabled"] is False
    assert (config["server"]["http_listen_port"], config["server"]["grpc_listen_port"]) == (
        9009,
        9095,
    )
    assert config["blocks_storage"]["backend"] == "filesystem"
    directories = [
        config["blocks_storage"]["filesystem"]["dir"],
        config["blocks_storage"]["tsdb"]["dir"],
        config["blocks_storage"]["bucket_store"]["sync_dir"],
        config["compactor"]["data_dir"],
    ]
    assert all(d.startswith("/var/lib/mimir/") for d in directories), directories
    assert len(set(directories)) == 4, directories
    assert config["ingester"]["ring"]["replication_factor"] == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_mimir_limits_querier_and_ruler_follow_the_contract(render, env) -> None:
    config = rendered_yaml(render(env), MIMIR)

    assert config["limits"] == {
        "compactor_blocks_retention_period": "720h",
        "max_query_lookback": "720h",
        "ingestion_rate": 50000,
        "ingestion_burst_size": 100000,
        "max_global_series_per_user": 500000,
        "max_global_series_per_metric": 50000,
        "max_query_parallelism": 32,
    }
    assert config["querier"]["max_concurrent"] == 20
    assert config["ruler"]["enable_api"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_loki_has_no_auth_and_a_v13_tsdb_schema_on_the_filesystem(render, env) -> None:
    config = rendered_yaml(render(env), LOKI)

    assert config["auth_enabled"] is False
    (period,) = config["schema_config"]["configs"]
    assert period["store"] == "tsdb"
    assert period["schema"] == "v13"
    assert period["object_store"] == "filesystem"
    assert period["index"]["period"] == "24h"
    assert config["storage_config"]["filesystem"]["directory"].startswith("/var/lib/loki/")
    assert config["common"]["path_prefix"] == "/var/lib/loki"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_loki_retention_is_applied_by_the_compactor(render, env) -> None:
    config = rendered_yaml(render(env), LOKI)
    compactor = config["compactor"]

    assert config["limits_config"]["retention_period"] == "720h"
    assert compactor["retention_enabled"] is True
    assert compactor["compaction_interval"] == "10m"
    assert compactor["retention_delete_delay"] == "2h"
    assert compactor["delete_request_store"] == "filesystem"
    assert compactor["working_directory"].startswith("/var/lib/loki/")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_loki_limits_and_message_sizes_follow_the_contract(render, env) -> None:
    config = rendered_yaml(render(env), LOKI)
    limits = config["limits_config"]

    assert limits["reject_old_samples"] is True
    assert limits["reject_old_samples_max_age"] == "168h"
    assert limits["ingestion_rate_mb"] == 10
    assert limits["ingestion_burst_size_mb"] == 20
    assert limits["max_global_streams_per_user"] == 10000
    assert config["server"]["grpc_server_max_recv_msg_size"] == 16 * 1024 * 1024
    assert config["server"]["grpc_server_max_send_msg_size"] == 16 * 1024 * 1024
    assert config["server"]["http_listen_port"] == 3100


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tempo_receives_otlp_on_every_interface(render, env) -> None:
    config = rendered_yaml(render(env), TEMPO)
    protocols = config["distributor"]["receivers"]["otlp"]["protocols"]

    assert protocols == {
        "grpc": {"endpoint": "0.0.0.0:4317"},
        "http": {"endpoint": "0.0.0.0:4318"},
    }
    assert config["server"]["http_listen_port"] == 3200


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tempo_keeps_traces_locally_for_seven_days(render, env) -> None:
    config = rendered_yaml(render(env), TEMPO)
    trace = config["storage"]["trace"]

    assert config["compactor"]["compaction"]["block_retention"] == "168h"
    assert trace["backend"] == "local"
    assert trace["local"]["path"].startswith("/var/lib/tempo/")
    assert trace["wal"]["path"].startswith("/var/lib/tempo/")
    assert config["query_frontend"]["search"]["duration_slo"] == "5s"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tempo_generates_span_metrics_and_service_graphs_into_mimir(render, env) -> None:
    config = rendered_yaml(render(env), TEMPO)
    generator = config["metrics_generator"]
    processor = generator["processor"]

    assert config["overrides"]["defaults"]["metrics_generator"]["processors"] == [
        "service-graphs",
        "span-metrics",
    ]
    assert generator["registry"]["external_labels"] == {"source": "tempo", "cluster": "gatewayz"}
    assert processor["span_metrics"]["dimensions"] == [
        "gen_ai.request.model",
        "gen_ai.system",
        "ai.provider",
        "ai.model_id",
        "http.status_code",
    ]
    assert "customer.id" not in processor["span_metrics"]["dimensions"]
    # service.name and span_name are Tempo's intrinsic dimensions, on unless turned off.
    intrinsic = processor["span_metrics"].get("intrinsic_dimensions", {})
    assert intrinsic.get("service", True) and intrinsic.get("span_name", True)
    assert processor["span_metrics"]["histogram_buckets"] == [
        0.01,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
        10,
    ]
    assert processor["service_graphs"]["dimensions"] == ["service.name", "gen_ai.system"]
    (remote_write,) = generator["storage"]["remote_write"]
    assert remote_write == {"url": MIMIR_PUSH[env], "send_exemplars": True}
    assert generator["storage"]["path"].startswith("/var/lib/tempo/")


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("component", ["mimir", "loki", "tempo"])
def test_storage_services_run_their_config_file(render, env, component) -> None:
    args = exec_start(rendered_file(render(env), f"/etc/systemd/system/{component}.service"))

    assert args == [
        f"/opt/{component}/current/{component}",
        f"-config.file=/etc/{component}/{component}.yaml",
    ]
