"""End-to-end checks of the default scenario: the whole stack converged on one host."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_support import http_get_from_controller, http_get_inside, journal, poll, unit_is_up
from testinfra.host import Host

READINESS_TIMEOUT = 60.0
FIRST_SCRAPE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Component:
    """One service of the stack as the deploys install it.

    + name: unit, system user, /etc, /var/lib and /opt directory name
    + group: inventory group whose hosts run it
    + readiness: path and port answered on the host when the service is ready
    + ready_text: text the readiness answer must contain, when the status alone says too little
    """

    name: str
    readiness_port: int
    readiness_path: str
    ready_text: str | None = None

    @property
    def group(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


COMPONENTS = (
    Component("prometheus", 9090, "/-/ready"),
    Component("mimir", 9009, "/ready"),
    Component("loki", 3100, "/ready"),
    Component("tempo", 3200, "/ready"),
    Component("redis_exporter", 9121, "/metrics", ready_text="redis_up 1"),
    Component("grafana", 3000, "/api/health"),
)
SCRAPE_JOBS = ("prometheus", "redis_exporter", "gatewayz_production")

by_component = pytest.mark.parametrize("component", COMPONENTS, ids=str)


@pytest.fixture
def component_host(request: pytest.FixtureRequest, host_for_group: Callable[[str], Host]) -> Host:
    component: Component = request.getfixturevalue("component")
    return host_for_group(component.group)


def main_pid(host: Host, unit: str) -> int:
    return int(host.run(f"systemctl show -p MainPID --value {unit}.service").stdout.strip() or 0)


@by_component
def test_the_unit_is_active_and_enabled(component: Component, component_host: Host) -> None:
    service = component_host.service(component.name)

    assert service.is_running, f"{component} is not active" + journal(
        component_host, component.name
    )
    assert service.is_enabled, f"{component} is not enabled at boot"


@by_component
def test_the_service_runs_as_a_system_user_named_after_it(
    component: Component, component_host: Host
) -> None:
    configured = component_host.run(f"systemctl show -p User --value {component.name}.service")
    pid = main_pid(component_host, component.name)
    # `user:32` keeps ps from printing a uid for names longer than its default column.
    owner = component_host.run(f"ps -o user:32= -p {pid}").stdout.strip() if pid else ""

    assert configured.stdout.strip() == component.name
    assert pid > 0, f"{component} has no main process" + journal(component_host, component.name)
    assert owner == component.name, f"{component} main process {pid} runs as {owner!r}"


@by_component
def test_the_service_user_cannot_log_in_and_has_no_home_under_home(
    component: Component, component_host: Host
) -> None:
    user = component_host.user(component.name)

    assert user.exists, f"there is no user {component}"
    assert user.uid != 0
    assert user.shell.endswith("/nologin"), f"{component} has login shell {user.shell}"
    assert not user.home.startswith("/home/"), f"{component} has home {user.home}"
    assert not component_host.file(f"/home/{component.name}").exists


@by_component
def test_the_config_and_data_directories_exist(component: Component, component_host: Host) -> None:
    config = component_host.file(f"/etc/{component.name}")
    data = component_host.file(f"/var/lib/{component.name}")

    assert config.is_directory, f"/etc/{component} is missing"
    assert data.is_directory, f"/var/lib/{component} is missing"
    assert data.user == component.name, f"/var/lib/{component} is owned by {data.user}"


@by_component
def test_the_current_release_is_a_symlink_to_a_versioned_directory(
    component: Component, component_host: Host
) -> None:
    current = component_host.file(f"/opt/{component.name}/current")

    assert current.is_symlink, f"/opt/{component}/current is not a symlink"
    target = component_host.file(current.linked_to)
    assert target.is_directory, f"/opt/{component}/current points to {current.linked_to}"
    release = current.linked_to.rstrip("/").rsplit("/", 1)[-1]
    assert any(character.isdigit() for character in release), (
        f"/opt/{component}/current points to {release!r}, which names no version"
    )


@by_component
def test_the_service_answers_its_readiness_check_on_the_host(
    component: Component, component_host: Host
) -> None:
    url = f"http://127.0.0.1:{component.readiness_port}{component.readiness_path}"

    def ready() -> tuple[bool, str]:
        status, body = http_get_inside(component_host, url)
        text_ok = component.ready_text is None or component.ready_text in body.splitlines()
        return status == 200 and text_ok, f"HTTP {status}: {body[:500]}"

    answered, detail = poll(
        ready, READINESS_TIMEOUT, worth_waiting=lambda: unit_is_up(component_host, component.name)
    )

    assert answered, f"{url} not ready in {READINESS_TIMEOUT:.0f} s ({detail})" + journal(
        component_host, component.name
    )


@pytest.fixture(scope="module")
def prometheus_api(harness_state: dict[str, Any], published_port: Callable[[str, int], int]) -> str:
    """Prometheus's base URL through its published port, once it says it is ready.

    Module-scoped so that a Prometheus that never gets ready costs one wait, not one per job.
    """
    name = next(
        name
        for name, host in sorted(harness_state["hosts"].items())
        if "prometheus" in host["groups"]
    )
    base = f"http://127.0.0.1:{published_port(name, 9090)}"

    def ready() -> tuple[bool, str]:
        status, body = http_get_from_controller(f"{base}/-/ready")
        return status == 200, f"HTTP {status}: {body[:300]}"

    answered, detail = poll(ready, READINESS_TIMEOUT)
    if not answered:
        pytest.fail(f"Prometheus at {base} is not ready: {detail}")
    return base


@pytest.mark.parametrize("job", SCRAPE_JOBS)
def test_prometheus_reports_the_scrape_job_up(
    job: str, prometheus_api: str, host_for_group: Callable[[str], Host]
) -> None:
    url = f"{prometheus_api}/api/v1/targets?state=active"

    def job_up() -> tuple[bool, str]:
        status, body = http_get_from_controller(url)
        if status != 200:
            return False, f"HTTP {status}: {body[:300]}"
        active = json.loads(body)["data"]["activeTargets"]
        targets = [target for target in active if target["labels"].get("job") == job]
        if not targets:
            seen_jobs.update(str(target["labels"].get("job")) for target in active)
            return False, f"no active target has job {job!r}; jobs: {sorted(seen_jobs)}"
        healths = [
            (target["scrapeUrl"], target["health"], target["lastError"]) for target in targets
        ]
        return all(health == "up" for _, health, _ in healths), repr(healths)

    def worth_waiting() -> bool:
        # A job missing from the loaded configuration will not appear by waiting.
        return unit_is_up(prometheus, "prometheus") and not seen_jobs

    seen_jobs: set[str] = set()
    prometheus = host_for_group("prometheus")

    # The first scrape of a target happens up to one scrape interval after Prometheus starts.
    up, detail = poll(job_up, FIRST_SCRAPE_TIMEOUT, worth_waiting=worth_waiting)

    assert up, f"scrape job {job} is not up: {detail}" + journal(prometheus, "prometheus")


def test_no_service_restarted_when_the_deploy_ran_a_second_time(
    harness_state: dict[str, Any],
) -> None:
    recorded = harness_state.get("main_pids", {})
    if "idempotence" not in recorded:
        pytest.skip("the idempotence stage has not run for this scenario")
    after_converge = recorded["converge"]
    after_idempotence = recorded["idempotence"]

    for name, platform in sorted(harness_state["hosts"].items()):
        for component in COMPONENTS:
            if component.group in platform["groups"]:
                pid = after_converge.get(name, {}).get(component.name, 0)
                assert pid > 0, f"{component} had no main process on {name} after converge"
    assert after_idempotence == after_converge


# Metrics the stand-ins for Mimir, Loki and Tempo do not produce (nor Tempo's generator,
# which the stand-in does not run), and ALERTS, which exists only while an alert fires.
NOT_PRODUCED_IN_TESTS = ("cortex_", "loki_", "tempo_", "traces_", "ALERTS")


def test_every_metric_the_dashboards_and_rules_use_has_a_series_in_prometheus(
    prometheus_api: str,
) -> None:
    from tests.unit.fixtures.metrics import metric_names_of_all, recording_rule_names, stack_promql

    used = set().union(*metric_names_of_all(stack_promql()).values())
    used -= recording_rule_names()
    checked = sorted(name for name in used if not name.startswith(NOT_PRODUCED_IN_TESTS))

    def missing_names() -> tuple[bool, str]:
        status, body = http_get_from_controller(f"{prometheus_api}/api/v1/label/__name__/values")
        present = set(json.loads(body)["data"]) if status == 200 else set()
        missing = [name for name in checked if name not in present]
        return not missing, f"{len(missing)} of {len(checked)} without a series: {missing}"

    done, detail = poll(missing_names, FIRST_SCRAPE_TIMEOUT)
    assert len(checked) > 40, f"suspiciously few metric names to check: {checked}"
    assert done, detail


def test_the_second_run_left_every_managed_file_untouched(harness_state: dict[str, Any]) -> None:
    """Owner, mode, mtime, size and content of every file and directory the deploys manage
    (configs, dashboards, provisioning, units, install trees) were the same after the
    idempotence run as before it, as recorded by the harness."""
    for host, files in harness_state["managed_files"].items():
        # The Grafana tree alone holds more than twenty managed files.
        assert files["count"] > 100, f"{host}: only {files['count']} entries were compared"
        assert files["changed"] == [], f"{host}: the second run touched {files['changed']}"
