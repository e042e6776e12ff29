"""Unit tests for Grafana-managed alerting provisioned from files (deploys/alerting.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploys.alerting import (
    CONTACT_POINTS,
    GROUPS,
    KEYS,
    ROUTES,
    render_alerting,
    routes_as_alertmanager,
)
from deploys.errors import DataError
from deploys.settings import STRING_LIST
from tests.unit.fixtures.metrics import (
    alert_rules_of,
    alerting_promql,
    check_rules_parse,
    tool,
    unknown_metric_names,
)

DATASOURCE_UIDS = {"grafana_prometheus", "grafana_mimir", "grafana_loki", "grafana_tempo"}

# Section 6: group -> (folder, its rules' category or component values).
EXPECTED_GROUPS = {
    "traffic_anomalies": ("Abnormal Behavior", {"traffic_spike", "traffic_drop"}),
    "error_rate_anomalies": ("Abnormal Behavior", {"error_rate_spike", "server_errors"}),
    "latency_anomalies": ("Abnormal Behavior", {"latency_anomaly"}),
    "availability_anomalies": (
        "Abnormal Behavior",
        {"availability_drop", "circuit_breaker", "multi_provider_degradation"},
    ),
    "redis_alerts": ("Redis Alerts", {"redis"}),
    "slo_burn_rate_alerts": ("SLO Alerts", {"slo"}),
    "backend_alerts": ("Backend Alerts", {"backend"}),
    "model_alerts": ("Model Alerts", {"model"}),
}

GROUP_KEYS = {"orgId", "name", "folder", "interval", "rules"}
RULE_KEYS = {
    "uid",
    "title",
    "condition",
    "data",
    "noDataState",
    "execErrState",
    "for",
    "labels",
    "annotations",
    "isPaused",
}
QUERY_KEYS = {"refId", "relativeTimeRange", "datasourceUid", "model"}
POLICY_KEYS = {
    "receiver",
    "group_by",
    "object_matchers",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "routes",
    "orgId",
}


@pytest.fixture(scope="module")
def files() -> dict[str, Any]:
    return {name: yaml.safe_load(content) for name, content in render_alerting({}).items()}


def test_alerting_renders_rules_contact_points_and_policies(files):
    assert set(files) == {"rules.yaml", "contact-points.yaml", "policies.yaml"}
    assert all(document["apiVersion"] == 1 for document in files.values())
    assert set(files["rules.yaml"]) == {"apiVersion", "groups"}
    assert set(files["contact-points.yaml"]) == {"apiVersion", "contactPoints"}
    assert set(files["policies.yaml"]) == {"apiVersion", "policies"}


def test_rendering_twice_gives_identical_bytes():
    assert render_alerting({}) == render_alerting({})


def test_every_file_starts_with_the_managed_header():
    for name, content in render_alerting({}).items():
        assert content.startswith(b"# managed by gatewayz-observability"), name


def test_the_eight_rule_groups_sit_in_their_folders_with_their_labels(files):
    groups = {group["name"]: group for group in files["rules.yaml"]["groups"]}
    assert set(groups) == set(EXPECTED_GROUPS)
    for name, (folder, kinds) in EXPECTED_GROUPS.items():
        assert groups[name]["folder"] == folder
        found = {
            r["labels"].get("category") or r["labels"].get("component")
            for r in groups[name]["rules"]
        }
        assert found == kinds, name
    assert groups["redis_alerts"]["interval"] == "30s"


def test_groups_and_rules_have_the_required_keys_and_no_others(files):
    for group in files["rules.yaml"]["groups"]:
        assert set(group) == GROUP_KEYS and group["orgId"] == 1
        for rule in group["rules"]:
            assert set(rule) == RULE_KEYS, rule["uid"]
            assert rule["annotations"].get("summary"), rule["uid"]
            assert rule["noDataState"] in {"OK", "NoData", "Alerting"}
            assert rule["execErrState"] in {"OK", "Error", "Alerting"}
            assert {q["refId"] for q in rule["data"]} >= {rule["condition"]}
            for query in rule["data"]:
                assert set(query) == QUERY_KEYS, rule["uid"]
                assert query["model"]["refId"] == query["refId"]


def test_every_rule_has_a_severity_and_a_category_or_a_component(files):
    categories = {
        "traffic_spike",
        "traffic_drop",
        "error_rate_spike",
        "server_errors",
        "latency_anomaly",
        "availability_drop",
        "circuit_breaker",
        "multi_provider_degradation",
        "model",
        "backend",
    }
    for rule in alert_rules_of(files):
        labels = rule["labels"]
        assert labels["severity"] in {"critical", "warning"}, rule["uid"]
        assert (labels.get("category") in categories) != (
            labels.get("component") in {"redis", "slo"}
        ), rule["uid"]


def test_rule_uids_are_unique_across_all_files_and_valid_for_grafana(files):
    uids = [rule["uid"] for rule in alert_rules_of(files)]
    assert len(uids) == len(set(uids))
    assert all(len(uid) <= 40 and uid.replace("-", "").isalnum() for uid in uids)


def test_rule_titles_are_unique_within_each_folder(files):
    seen: dict[str, set[str]] = {}
    for group in files["rules.yaml"]["groups"]:
        for rule in group["rules"]:
            titles = seen.setdefault(group["folder"], set())
            assert rule["title"] not in titles
            titles.add(rule["title"])


def test_every_datasource_uid_is_one_of_the_four_or_grafanas_expressions(files):
    for rule in alert_rules_of(files):
        for query in rule["data"]:
            assert query["datasourceUid"] in DATASOURCE_UIDS | {"__expr__"}, rule["uid"]
            if query["datasourceUid"] == "__expr__":
                assert query["model"]["expression"] in {q["refId"] for q in rule["data"]}


def test_thresholds_and_pending_periods_follow_the_spec(files):
    rules = {rule["uid"]: rule for rule in alert_rules_of(files)}

    def threshold(uid: str) -> tuple[str, list[float]]:
        evaluator = rules[uid]["data"][-1]["model"]["conditions"][0]["evaluator"]
        return evaluator["type"], evaluator["params"]

    assert threshold("gatewayz-traffic-spike-critical") == ("gt", [3])
    assert threshold("gatewayz-error-rate-warning") == ("within_range", [5, 10])
    assert threshold("gatewayz-redis-memory-critical") == ("gt", [90])
    assert rules["gatewayz-redis-memory-critical"]["for"] == "2m"
    assert rules["gatewayz-traffic-drop"]["for"] == "15m"
    assert rules["gatewayz-backend-breaker-open"]["for"] == "0s"
    assert rules["gatewayz-slo-slow-burn"]["for"] == "30m"


def test_down_rules_fire_when_their_target_reports_nothing(files):
    rules = {rule["uid"]: rule for rule in alert_rules_of(files)}
    assert rules["gatewayz-backend-down"]["noDataState"] == "Alerting"
    assert rules["gatewayz-redis-down"]["noDataState"] == "Alerting"
    assert rules["gatewayz-latency-p95-critical"]["noDataState"] == "OK"


def test_every_alert_rule_promql_expression_is_accepted_by_promtool(files, tmp_path):
    exprs = alerting_promql(files)
    assert len(exprs) > 20
    check_rules_parse(exprs, tmp_path)


def test_alert_rules_query_only_metrics_of_the_contract_or_the_components(files):
    assert unknown_metric_names(alerting_promql(files)) == {}


def test_a_disabled_rule_group_is_left_out():
    rules = yaml.safe_load(
        render_alerting({"alert_rule_groups_disabled": ["model_alerts"]})["rules.yaml"]
    )
    names = {group["name"] for group in rules["groups"]}
    assert "model_alerts" not in names and len(names) == len(GROUPS) - 1


def test_disabling_an_unknown_rule_group_is_refused():
    with pytest.raises(DataError, match="alert_rule_groups_disabled: modle_alerts"):
        render_alerting({"alert_rule_groups_disabled": ["modle_alerts"]})


# --- contact points --------------------------------------------------------------------------


def test_the_six_contact_points_send_email_to_the_addresses_in_data(files):
    points = {p["name"]: p for p in files["contact-points.yaml"]["contactPoints"]}
    assert set(points) == {
        "ops-email",
        "critical-email",
        "dev-team-email",
        "observatory-pool-critical",
        "observatory-pool-warning",
        "observatory-pool-digest",
    }
    custom = yaml.safe_load(
        render_alerting({"alert_email_ops": ["a@example.org", "b@example.org"]})[
            "contact-points.yaml"
        ]
    )
    ops = next(p for p in custom["contactPoints"] if p["name"] == "ops-email")
    assert ops["receivers"][0]["settings"]["addresses"] == "a@example.org;b@example.org"
    for point in points.values():
        (receiver,) = point["receivers"]
        assert receiver["type"] == "email" and receiver["settings"]["addresses"]
    digest = points["observatory-pool-digest"]["receivers"][0]["settings"]
    assert digest["singleEmail"] is True


def test_receiver_uids_are_unique(files):
    uids = [r["uid"] for p in files["contact-points.yaml"]["contactPoints"] for r in p["receivers"]]
    assert len(uids) == len(set(uids))


def test_every_address_key_is_a_list_of_strings_with_a_default():
    by_name = {key.name: key for key in KEYS}
    for name, (key, _digest) in CONTACT_POINTS.items():
        assert by_name[key].kind is STRING_LIST and by_name[key].default, name


def test_a_contact_point_without_addresses_is_refused():
    with pytest.raises(DataError, match="alert_email_critical"):
        render_alerting({"alert_email_critical": []})


# --- notification policies -------------------------------------------------------------------


def test_every_policy_names_a_provisioned_contact_point_and_only_known_keys(files):
    names = {p["name"] for p in files["contact-points.yaml"]["contactPoints"]}
    (root,) = files["policies.yaml"]["policies"]
    assert root["receiver"] == "ops-email" and root["group_by"] == ["alertname", "instance"]
    for policy in [root, *root["routes"]]:
        assert set(policy) <= POLICY_KEYS
        assert policy["receiver"] in names


@pytest.fixture(scope="module")
def alertmanager_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("alertmanager") / "alertmanager.yml"
    path.write_text(yaml.safe_dump(routes_as_alertmanager({}), sort_keys=True))
    return path


def test_the_rendered_route_tree_is_a_valid_alertmanager_config(alertmanager_config):
    result = subprocess.run(
        [str(tool("amtool")), "check-config", str(alertmanager_config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_grafana_policies_and_the_alertmanager_routes_are_the_same_tree(files):
    grafana = files["policies.yaml"]["policies"][0]["routes"]
    alertmanager = routes_as_alertmanager({})["route"]["routes"]
    assert [r["receiver"] for r in grafana] == [r["receiver"] for r in alertmanager]
    for ours, theirs in zip(grafana, alertmanager, strict=True):
        assert [f'{label}{op}"{value}"' for label, op, value in ours["object_matchers"]] == (
            theirs["matchers"]
        )
        for key in ("group_by", "group_wait", "group_interval", "repeat_interval"):
            assert ours.get(key) == theirs.get(key)


# Label sets -> the receiver section 6 names (first match wins).
ROUTING_TABLE = [
    ({"category": "traffic_spike", "severity": "critical"}, "observatory-pool-critical"),
    ({"category": "traffic_spike", "severity": "warning"}, "observatory-pool-warning"),
    ({"category": "traffic_drop", "severity": "warning"}, "observatory-pool-warning"),
    ({"category": "traffic_drop", "severity": "critical"}, "observatory-pool-warning"),
    ({"category": "error_rate_spike", "severity": "critical"}, "observatory-pool-critical"),
    ({"category": "error_rate_spike", "severity": "warning"}, "observatory-pool-warning"),
    ({"category": "server_errors", "severity": "critical"}, "observatory-pool-critical"),
    ({"category": "server_errors", "severity": "warning"}, "observatory-pool-critical"),
    ({"category": "latency_anomaly", "severity": "critical"}, "observatory-pool-critical"),
    ({"category": "latency_anomaly", "severity": "warning"}, "observatory-pool-warning"),
    ({"category": "availability_drop", "severity": "critical"}, "observatory-pool-critical"),
    ({"category": "availability_drop", "severity": "warning"}, "observatory-pool-warning"),
    ({"category": "circuit_breaker", "severity": "critical"}, "observatory-pool-critical"),
    ({"category": "circuit_breaker", "severity": "warning"}, "observatory-pool-critical"),
    (
        {"category": "multi_provider_degradation", "severity": "critical"},
        "observatory-pool-critical",
    ),
    (
        {"category": "multi_provider_degradation", "severity": "warning"},
        "observatory-pool-critical",
    ),
    ({"component": "redis", "severity": "critical"}, "critical-email"),
    ({"component": "redis", "severity": "warning"}, "ops-email"),
    ({"component": "slo", "severity": "critical"}, "critical-email"),
    ({"component": "slo", "severity": "warning"}, "ops-email"),
    ({"category": "model", "severity": "critical"}, "critical-email"),
    ({"category": "model", "severity": "warning"}, "ops-email"),
    ({"category": "backend", "severity": "critical"}, "critical-email"),
    ({"category": "backend", "severity": "warning"}, "ops-email"),
    ({"severity": "critical", "alertname": "Anything"}, "critical-email"),
    ({"severity": "warning", "alertname": "Anything"}, "ops-email"),
    ({"alertname": "NoLabels"}, "ops-email"),
]


@pytest.mark.parametrize(
    ("labels", "receiver"),
    ROUTING_TABLE,
    ids=[",".join(f"{k}={v}" for k, v in t[0].items()) for t in ROUTING_TABLE],
)
def test_amtool_routes_each_label_set_to_the_receiver_the_spec_names(
    alertmanager_config, labels, receiver
):
    assert amtool_receiver(alertmanager_config, labels) == receiver


def first_matching_route(labels: dict[str, str]) -> int | None:
    """Index of the first route whose matchers all hold, as Alertmanager picks it."""
    for index, route in enumerate(ROUTES):
        if all(
            re.fullmatch(value, labels.get(label, ""))
            if op == "=~"
            else labels.get(label, "") == value
            for label, op, value in route.matchers
        ):
            return index
    return None


def amtool_receiver(config: Path, labels: dict[str, str]) -> str:
    result = subprocess.run(
        [
            str(tool("amtool")),
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            *(f"{k}={v}" for k, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("index", range(len(ROUTES)))
def test_every_route_is_reached_by_the_alerts_it_names(alertmanager_config, index):
    route = ROUTES[index]
    labels = {label: value.split("|")[0] for label, _op, value in route.matchers}
    assert first_matching_route(labels) == index, "an earlier route shadows this one"
    assert amtool_receiver(alertmanager_config, labels) == route.receiver


def test_every_rule_is_caught_by_a_route_below_the_root(files):
    for rule in alert_rules_of(files):
        assert first_matching_route(rule["labels"]) is not None, rule["uid"]


def test_a_disabled_rule_group_is_left_out_and_its_rules_are_deleted_from_grafana():
    document = yaml.safe_load(
        render_alerting({"alert_rule_groups_disabled": ["redis_alerts"]})["rules.yaml"]
    )
    assert "redis_alerts" not in {group["name"] for group in document["groups"]}
    redis = next(group for group in GROUPS if group.name == "redis_alerts")
    assert {entry["uid"] for entry in document["deleteRules"]} == {r.uid for r in redis.rules}
    everything = yaml.safe_load(render_alerting({})["rules.yaml"])
    assert "deleteRules" not in everything
