"""Unit tests for the test stand-in (tests/standin/standin.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.standin.standin import check_config, expand_env, listeners_for, parse_args

STANDIN = Path(__file__).resolve().parents[1] / "standin" / "standin.py"

LOKI_MINIMAL = """\
auth_enabled: false
server:
  http_listen_port: {http}
  grpc_listen_port: {grpc}
common:
  path_prefix: {data}
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: "2024-01-01"
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
limits_config:
  retention_period: 720h
  reject_old_samples: true
  reject_old_samples_max_age: 168h
compactor:
  working_directory: {data}/compactor
  retention_enabled: true
  delete_request_store: filesystem
"""

TEMPO_MINIMAL = """\
server:
  http_listen_port: 3200
distributor:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: "0.0.0.0:4317"
        http: {}
storage:
  trace:
    backend: local
    local:
      path: /var/lib/tempo/traces
    wal:
      path: /var/lib/tempo/wal
metrics_generator:
  storage:
    path: /var/lib/tempo/generator
    remote_write:
      - url: http://127.0.0.1:9009/api/v1/push
        send_exemplars: true
  processor:
    span_metrics:
      dimensions: [service.name]
overrides:
  defaults:
    metrics_generator:
      processors: [service-graphs, span-metrics]
"""

MIMIR_MINIMAL = """\
multitenancy_enabled: false
server:
  http_listen_port: 9009
blocks_storage:
  backend: filesystem
  filesystem:
    dir: /var/lib/mimir/blocks
ingester:
  ring:
    replication_factor: 1
    kvstore:
      store: inmemory
ruler:
  enable_api: false
limits:
  compactor_blocks_retention_period: 720h
  max_global_series_per_user: 500000
"""


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def standin_command(tmp_path: Path, program: str) -> list[str]:
    link = tmp_path / program
    if not link.exists():
        link.symlink_to(STANDIN)
    return [sys.executable, str(link)]


def loki_config(tmp_path: Path, http: int, grpc: int) -> Path:
    path = tmp_path / "loki.yaml"
    path.write_text(LOKI_MINIMAL.format(http=http, grpc=grpc, data=tmp_path))
    return path


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"stand-in exited early: {process.communicate()[1]}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def running_loki(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    http, grpc = free_port(), free_port()
    config = loki_config(tmp_path, http, grpc)
    process = subprocess.Popen(
        [*standin_command(tmp_path, "loki"), f"-config.file={config}", "-config.expand-env=true"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{http}/ready", process)
        yield process, http
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stderr and not process.stderr.closed:
            process.stderr.close()


def test_minimal_configs_of_each_program_pass_the_check() -> None:
    assert check_config("loki", LOKI_MINIMAL.format(http=3100, grpc=9095, data="/x")) == []
    assert check_config("tempo", TEMPO_MINIMAL) == []
    assert check_config("mimir", MIMIR_MINIMAL) == []
    assert check_config("grafana", "[server]\nhttp_port = 3000\n") == []


def test_loki_standin_rejects_an_unknown_limits_key() -> None:
    text = LOKI_MINIMAL.format(http=3100, grpc=9095, data="/x").replace(
        "reject_old_samples_max_age", "reject_old_sample_max_age_x"
    )
    errors = check_config("loki", text)
    assert len(errors) == 1
    assert "limits_config.reject_old_sample_max_age_x" in errors[0]


def test_tempo_standin_rejects_an_unknown_span_metrics_key() -> None:
    errors = check_config("tempo", TEMPO_MINIMAL.replace("dimensions:", "dimension:"))
    assert errors and "metrics_generator.processor.span_metrics.dimension" in errors[0]


def test_tempo_standin_checks_every_remote_write_entry() -> None:
    errors = check_config("tempo", TEMPO_MINIMAL.replace("send_exemplars", "send_exemplar"))
    assert errors and "remote_write[0].send_exemplar" in errors[0]


def test_tempo_standin_accepts_the_legacy_flat_overrides() -> None:
    text = "overrides:\n  metrics_generator_processors: [span-metrics]\n"
    assert check_config("tempo", text) == []


def test_mimir_standin_rejects_an_unknown_limits_key() -> None:
    errors = check_config("mimir", MIMIR_MINIMAL.replace("max_global_series_per_user", "max_x"))
    assert errors and "limits.max_x" in errors[0]


def test_an_unknown_top_level_block_is_rejected_for_every_yaml_program() -> None:
    for program in ("loki", "tempo", "mimir"):
        assert check_config(program, "no_such_block:\n  a: 1\n"), program


def test_yaml_that_does_not_parse_is_an_error() -> None:
    assert check_config("loki", "server: [unclosed\n")


def test_grafana_standin_rejects_a_non_numeric_port_and_unparsable_ini() -> None:
    assert check_config("grafana", "[server]\nhttp_port = abc\n")
    assert check_config("grafana", "[server\nhttp_port = 3000\n")


def test_env_expansion_uses_each_programs_default_syntax() -> None:
    assert expand_env("loki", "${A:-x} ${B}", {"B": "b"}) == "x b"
    assert expand_env("mimir", "${A:y}", {}) == "y"


def test_go_style_flags_are_parsed_in_all_their_forms() -> None:
    options = parse_args("tempo", ["-config.file", "a.yaml", "--config.expand-env", "-target=all"])
    assert options.flag("config.file") == "a.yaml"
    assert options.enabled("config.expand-env")
    assert options.flag("target") == "all"


def test_tempo_listens_on_each_configured_otlp_receiver() -> None:
    import yaml

    listeners = listeners_for("tempo", yaml.safe_load(TEMPO_MINIMAL))
    assert {(item.role, item.port) for item in listeners} == {
        ("http", 3200),
        ("grpc", 9095),
        ("otlp-grpc", 4317),
        ("otlp-http", 4318),
    }


def test_mimir_skips_memberlist_only_when_its_rings_are_in_memory() -> None:
    import yaml

    roles = {item.role for item in listeners_for("mimir", yaml.safe_load(MIMIR_MINIMAL))}
    assert "memberlist" in roles
    all_inmemory = {ring: {"kvstore": {"store": "inmemory"}} for ring in ("ring",)}
    config = {
        "distributor": all_inmemory,
        "ingester": all_inmemory,
        "compactor": {"sharding_ring": {"kvstore": {"store": "inmemory"}}},
        "store_gateway": {"sharding_ring": {"kvstore": {"store": "inmemory"}}},
    }
    assert "memberlist" not in {item.role for item in listeners_for("mimir", config)}


def test_verify_config_exits_1_naming_the_unknown_key(tmp_path: Path) -> None:
    config = loki_config(tmp_path, 3100, 9095)
    config.write_text(config.read_text().replace("retention_period", "retention_periods"))
    result = subprocess.run(
        [*standin_command(tmp_path, "loki"), f"-config.file={config}", "-verify-config"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert str(config) in result.stderr
    assert "limits_config.retention_periods" in result.stderr


def test_tempo_config_verify_needs_an_explicit_value(tmp_path: Path) -> None:
    config = tmp_path / "tempo.yaml"
    config.write_text(TEMPO_MINIMAL)
    command = [*standin_command(tmp_path, "tempo"), f"-config.file={config}"]
    verified = subprocess.run([*command, "-config.verify=true"], capture_output=True, timeout=30)
    bare = subprocess.run([*command, "-config.verify"], capture_output=True, timeout=30)
    assert verified.returncode == 0
    assert bare.returncode == 2


def test_version_flag_names_the_program_and_says_it_is_a_stand_in(tmp_path: Path) -> None:
    result = subprocess.run(
        [*standin_command(tmp_path, "mimir"), "-version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("mimir, version ") and "(stand-in)" in result.stdout


def test_running_loki_answers_ready_and_metrics_then_exits_0_on_sigterm(
    running_loki: tuple[subprocess.Popen[str], int], tmp_path: Path
) -> None:
    process, http = running_loki
    assert get(f"http://127.0.0.1:{http}/ready") == (200, "ready\n")

    request = urllib.request.Request(
        f"http://127.0.0.1:{http}/loki/api/v1/push", data=b"12345", method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 204
    status, metrics = get(f"http://127.0.0.1:{http}/metrics")
    assert status == 200
    assert 'standin_info{program="loki",version="0.0.0"} 1' in metrics
    assert 'standin_received_bytes_total{path="/loki/api/v1/push"} 5' in metrics
    assert (tmp_path / ".standin-loki").exists()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_sighup_reloads_the_config_and_keeps_running(
    running_loki: tuple[subprocess.Popen[str], int],
) -> None:
    process, http = running_loki
    process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert process.poll() is None
    assert get(f"http://127.0.0.1:{http}/ready")[0] == 200
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert "reloaded config" in stderr


def test_a_port_already_taken_makes_it_exit_1_naming_the_port(tmp_path: Path) -> None:
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = int(taken.getsockname()[1])
        config = loki_config(tmp_path, port, free_port())
        config.write_text(
            config.read_text().replace("server:\n", "server:\n  http_listen_address: 127.0.0.1\n")
        )
        result = subprocess.run(
            [*standin_command(tmp_path, "loki"), f"-config.file={config}"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ},
        )
    assert result.returncode == 1
    assert f"port {port}" in result.stderr
