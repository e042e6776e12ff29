"""End-to-end checks of the cluster scenario: components on three hosts, every address
between them derived from the inventory (role groups and advertise addresses)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import yaml
from e2e_support import http_get_from_controller, http_get_inside, poll
from testinfra.host import Host

PLACEMENT = {
    "obs-metrics": ("prometheus", "redis_exporter"),
    "obs-store": ("mimir", "loki", "tempo"),
    "obs-ui": ("grafana",),
}
ALL_UNITS = [unit for units in PLACEMENT.values() for unit in units]
SCRAPE_TIMEOUT = 90.0


def prometheus_targets(published_port: Callable[[str, int], int]) -> dict[str, dict]:
    port = published_port("obs-metrics", 9090)
    status, body = http_get_from_controller(f"http://127.0.0.1:{port}/api/v1/targets")
    if status != 200:
        return {}
    return {t["labels"]["job"]: t for t in json.loads(body)["data"]["activeTargets"]}


@pytest.mark.parametrize("host_name", sorted(PLACEMENT))
def test_each_host_runs_exactly_the_components_of_its_role_groups(
    hosts: dict[str, Host], host_name: str
) -> None:
    host = hosts[host_name]
    for unit in ALL_UNITS:
        service = host.service(unit)
        if unit in PLACEMENT[host_name]:
            assert service.is_running and service.is_enabled, f"{unit} on {host_name}"
        else:
            assert not host.file(f"/etc/systemd/system/{unit}.service").exists, (
                f"{unit} is installed on {host_name}, which is not in its role group"
            )


@pytest.mark.parametrize(
    ("job", "instance"),
    [
        ("mimir", "obs-store:9009"),
        ("loki", "obs-store:3100"),
        ("tempo", "obs-store:3200"),
        ("redis_exporter", "127.0.0.1:9121"),
        ("gatewayz_production", "127.0.0.1:8000"),
    ],
)
def test_prometheus_scrapes_each_target_at_the_address_the_inventory_gives(
    published_port: Callable[[str, int], int], job: str, instance: str
) -> None:
    def check() -> tuple[bool, str]:
        target = prometheus_targets(published_port).get(job)
        if target is None:
            return False, f"no active target for job {job}"
        detail = f"{target['labels']['instance']} is {target['health']} {target['lastError']}"
        return target["labels"]["instance"] == instance and target["health"] == "up", detail

    done, detail = poll(check, SCRAPE_TIMEOUT)
    assert done, f"job {job}: {detail}"


def test_prometheus_remote_writes_to_the_mimir_host_and_mimir_receives_it(
    hosts: dict[str, Host],
) -> None:
    config = yaml.safe_load(hosts["obs-metrics"].file("/etc/prometheus/prometheus.yml").content)
    (remote_write,) = config["remote_write"]
    assert remote_write["url"] == "http://obs-store:9009/api/v1/push"
    assert remote_write["name"] == "mimir-remote-write"

    def pushes_received() -> tuple[bool, str]:
        status, body = http_get_inside(hosts["obs-store"], "http://127.0.0.1:9009/metrics")
        match = re.search(r'standin_received_requests_total\{path="/api/v1/push"\} (\d+)', body)
        count = int(match.group(1)) if match else 0
        return status == 200 and count > 0, f"status {status}, {count} pushes"

    done, detail = poll(pushes_received, SCRAPE_TIMEOUT)
    assert done, f"the Mimir host received no remote write: {detail}"

    def samples_sent() -> tuple[bool, str]:
        status, body = http_get_inside(hosts["obs-metrics"], "http://127.0.0.1:9090/metrics")
        match = re.search(
            r'prometheus_remote_storage_samples_total\{remote_name="mimir-remote-write",'
            r'url="http://obs-store:9009/api/v1/push"\} (\S+)',
            body,
        )
        sent = float(match.group(1)) if match else 0.0
        return sent > 0, f"{sent} samples sent"

    done, detail = poll(samples_sent, SCRAPE_TIMEOUT)
    assert done, f"Prometheus reports no samples sent to the Mimir host: {detail}"


def test_tempo_writes_span_metrics_to_the_mimir_on_its_own_host(hosts: dict[str, Host]) -> None:
    config = yaml.safe_load(hosts["obs-store"].file("/etc/tempo/tempo.yaml").content)
    (remote_write,) = config["metrics_generator"]["storage"]["remote_write"]
    assert remote_write["url"] == "http://127.0.0.1:9009/api/v1/push"


@pytest.mark.parametrize(
    ("uid", "url", "ready_path"),
    [
        ("grafana_prometheus", "http://obs-metrics:9090", "/-/ready"),
        ("grafana_mimir", "http://obs-store:9009/prometheus", None),
        ("grafana_loki", "http://obs-store:3100", "/ready"),
        ("grafana_tempo", "http://obs-store:3200", "/ready"),
    ],
)
def test_grafana_datasources_point_at_the_hosts_that_run_each_backend(
    hosts: dict[str, Host], uid: str, url: str, ready_path: str | None
) -> None:
    ui = hosts["obs-ui"]
    provisioned = yaml.safe_load(
        ui.file("/etc/grafana/provisioning/datasources/gatewayz.yaml").content
    )
    by_uid = {source["uid"]: source for source in provisioned["datasources"]}
    assert by_uid[uid]["url"] == url
    if ready_path:
        status, body = http_get_inside(ui, url + ready_path)
        assert status == 200, f"{url}{ready_path} from the Grafana host: {status} {body[:200]}"


def test_a_serial_rollout_that_fails_on_one_host_stops_before_the_next(
    harness_state: dict, hosts: dict[str, Host]
) -> None:
    from e2e_support import restore, run_pyinfra_cli

    config_of = {
        "obs-store": "/etc/loki/loki.yaml",
        "obs-ui": "/etc/grafana/grafana.ini",
    }

    def digests() -> dict[str, str]:
        return {
            name: hosts[name].check_output(f"sha256sum {path}") for name, path in config_of.items()
        }

    inventory = harness_state["inventory"]
    before = digests()
    # promtool rejects the scrape interval on obs-metrics; the other two values would change
    # obs-store and obs-ui.
    run = run_pyinfra_cli(
        inventory,
        data={
            "prometheus_extra_scrape_configs": [{"job_name": "x", "scrape_interval": "soon"}],
            "loki_retention": "360h",
            "grafana_smtp_from_name": "Serial rollout test",
        },
        extra_args=["--serial"],
    )
    try:
        assert run.exit_code != 0, "the failing rollout succeeded" + run.describe()
        assert "prometheus.yml was rejected by its check" in run.stderr, run.describe()
        # pyinfra keeps its hosts in a set: --serial takes them one at a time, in no fixed
        # order. Read the order from the run and check nothing ran after the failing host.
        executed = run.stderr.split("Beginning operation run", 1)[-1]
        order = list(dict.fromkeys(re.findall(r"\[(obs-[a-z]+)\]", executed)))
        assert order and order[-1] == "obs-metrics", f"hosts ran in order {order}"
        after = digests()
        for name in config_of:
            if name not in order:
                assert after[name] == before[name], f"{name} changed after the failure"
            else:
                assert after[name] != before[name], f"{name} ran first but did not change"
    finally:
        restore(inventory)
