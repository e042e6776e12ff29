"""docker-compose.yml: the upstream images at the pinned versions, running the files that
``obs-render --compose`` renders from the same templates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from deploys.compose import COMPOSE_SERVICES, main
from tests.unit.conftest import REPO_ROOT, exec_start

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
IMAGES = {
    "prometheus": "prom/prometheus:v3.2.1",
    "mimir": "grafana/mimir:2.11.0",
    "loki": "grafana/loki:3.4.2",
    "tempo": "grafana/tempo:2.6.1",
    "redis-exporter": "oliver006/redis_exporter:v1.67.0",
    "grafana": "grafana/grafana:11.5.2",
    "redis": "redis:7",
}
PORTS = {
    "prometheus": {9090},
    "mimir": {9009, 9095},
    "loki": {3100},
    "tempo": {3200, 4317, 4318},
    "redis-exporter": {9121},
    "grafana": {3000},
    "redis": {6379},
}


def compose_binary() -> Path | None:
    candidates = [
        Path(os.environ.get("COMPOSE_CACHE", REPO_ROOT / ".cache" / "compose"))
        / "cli-plugins"
        / "docker-compose",
        Path("/usr/libexec/docker/cli-plugins/docker-compose"),
    ]
    on_path = shutil.which("docker-compose")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def compose_config() -> dict[str, Any]:
    """The compose file as Docker Compose itself resolves it (`docker compose config`)."""
    binary = compose_binary()
    if binary is None:
        pytest.skip(
            "Docker Compose v2 is not installed; fetch it with "
            "tests/tools/fetch_compose.sh (Debian unstable's docker-compose package)"
        )
    result = subprocess.run(
        [
            str(binary),
            "--file",
            str(COMPOSE_FILE),
            "--project-directory",
            str(REPO_ROOT),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_runs_the_pinned_upstream_images(compose_config) -> None:
    services = compose_config["services"]

    assert {name: s["image"] for name, s in services.items()} == IMAGES


def test_compose_publishes_each_port_on_loopback_only(compose_config) -> None:
    for name, service in compose_config["services"].items():
        ports = service.get("ports", [])
        assert {p["host_ip"] for p in ports} == {"127.0.0.1"}, name
        assert {int(p["published"]) for p in ports} == PORTS[name], name
        assert all(int(p["published"]) == p["target"] for p in ports), name


def test_compose_mounts_rendered_configs_read_only(compose_config) -> None:
    services = compose_config["services"]
    for component, service in COMPOSE_SERVICES.items():
        binds = [v for v in services[service]["volumes"] if v["type"] == "bind"]
        assert binds == [
            {
                "type": "bind",
                "source": str(REPO_ROOT / "rendered" / service / "etc" / component),
                "target": f"/etc/{component}",
                "read_only": True,
                "bind": {"create_host_path": True},
            }
        ], service


def test_the_compose_file_has_no_other_services_than_the_stack_and_redis() -> None:
    document = yaml.safe_load(COMPOSE_FILE.read_text())

    assert set(document["services"]) == {*COMPOSE_SERVICES.values(), "redis"}


def test_obs_render_compose_fills_every_mounted_directory(tmp_path) -> None:
    document = yaml.safe_load(COMPOSE_FILE.read_text())

    assert main(["inventories/dev.py", "--out", str(tmp_path / "rendered"), "--compose"]) == 0

    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./rendered/"):
                mounted = tmp_path / source.removeprefix("./")
                assert mounted.is_dir(), f"{name}: {source} was not rendered"


def test_compose_commands_are_the_rendered_units_arguments(render) -> None:
    rendered = render("dev", compose=True)
    document = yaml.safe_load(COMPOSE_FILE.read_text())

    for component, service in COMPOSE_SERVICES.items():
        if component == "grafana":
            # The image's entrypoint passes its own homepath; the config path is the same.
            assert "command" not in document["services"][service]
            continue
        unit = rendered[service][f"/etc/systemd/system/{component}.service"]
        assert document["services"][service]["command"] == exec_start(unit)[1:], service


def test_compose_configs_reach_each_other_by_service_name(render) -> None:
    rendered = render("dev", compose=True)

    prometheus = yaml.safe_load(rendered["prometheus"]["/etc/prometheus/prometheus.yml"])
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus["scrape_configs"]
    }
    assert targets["mimir"] == ["mimir:9009"]
    assert targets["redis_exporter"] == ["redis-exporter:9121"]
    assert targets["gatewayz_production"] == ["host.docker.internal:8000"]
    assert prometheus["remote_write"][0]["url"] == "http://mimir:9009/api/v1/push"
    tempo = yaml.safe_load(rendered["tempo"]["/etc/tempo/tempo.yaml"])
    assert tempo["metrics_generator"]["storage"]["remote_write"][0]["url"] == (
        "http://mimir:9009/api/v1/push"
    )
    datasources = yaml.safe_load(
        rendered["grafana"]["/etc/grafana/provisioning/datasources/gatewayz.yaml"]
    )
    assert {s["name"]: s["url"] for s in datasources["datasources"]} == {
        "Prometheus": "http://prometheus:9090",
        "Mimir": "http://mimir:9009/prometheus",
        "Loki": "http://loki:3100",
        "Tempo": "http://tempo:3200",
    }
    unit = rendered["redis-exporter"]["/etc/systemd/system/redis_exporter.service"]
    assert "-redis.addr=redis://redis:6379" in exec_start(unit)


def test_data_dirs_of_the_configs_are_compose_volumes(render) -> None:
    document = yaml.safe_load(COMPOSE_FILE.read_text())

    for component in ("prometheus", "mimir", "loki", "tempo", "grafana"):
        service = document["services"][COMPOSE_SERVICES[component]]
        targets = {PurePosixPath(v.split(":")[1]) for v in service["volumes"]}
        assert PurePosixPath(f"/var/lib/{component}") in targets, component
