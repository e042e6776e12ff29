"""Unit tests for the dashboards built as code (deploys/dashboards)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploys.dashboards import FOLDERS, load_extra_dashboards, render_dashboards
from deploys.errors import DataError
from tests.unit.fixtures.metrics import (
    allowed_metric_names,
    check_rules_parse,
    dashboard_promql,
    metric_names_of_all,
    panels_of,
    rule_files,
    unknown_metric_names,
)

DATASOURCE_UIDS = {"grafana_prometheus", "grafana_mimir", "grafana_loki", "grafana_tempo"}
DATASOURCE_TYPES = {
    "grafana_prometheus": "prometheus",
    "grafana_mimir": "prometheus",
    "grafana_loki": "loki",
    "grafana_tempo": "tempo",
}
# Section 6 of the stack's spec: folder -> dashboard titles.
EXPECTED_TITLES = {
    "Model Performance": {"Free Model Usage", "Paid Model LLM Usage", "Request Analysis"},
    "Loki": {"Live Logs", "Error Analysis", "Security and Rate Limiting"},
    "Prometheus": {"Backend Telemetry", "Redis Cache"},
    "Tempo": {"Distributed Tracing"},
    "Mimir": {"Long-term Metrics"},
    "Executive Overview": {"Executive Overview"},
    "Backend Services": {"Backend Services"},
}


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict[str, Any]]:
    return {path: json.loads(content) for path, content in render_dashboards().items()}


def test_there_are_exactly_the_seven_folders_of_the_spec(dashboards):
    assert set(FOLDERS) == set(EXPECTED_TITLES) and len(FOLDERS) == 7
    assert {path.split("/")[0] for path in dashboards} == set(EXPECTED_TITLES)


def test_each_folder_holds_the_dashboards_the_spec_names(dashboards):
    titles: dict[str, set[str]] = {}
    for path, document in dashboards.items():
        titles.setdefault(path.split("/")[0], set()).add(document["title"])
    assert titles == EXPECTED_TITLES


def test_each_file_is_named_after_its_dashboard_uid_and_uids_are_unique(dashboards):
    uids = [document["uid"] for document in dashboards.values()]
    assert len(set(uids)) == len(uids)
    for path, document in dashboards.items():
        assert path == f"{path.split('/')[0]}/{document['uid']}.json"
        assert document["uid"].startswith("gatewayz-") and len(document["uid"]) <= 40


def test_rendering_twice_gives_identical_bytes():
    assert render_dashboards() == render_dashboards()


def test_files_are_sorted_indented_json_with_a_final_newline():
    for path, content in render_dashboards().items():
        document = json.loads(content)
        expected = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert content.decode() == expected, path
        assert "id" not in document, f"{path}: Grafana assigns dashboard ids itself"


def test_every_panel_has_a_title_a_purpose_and_a_unique_id(dashboards):
    for path, document in dashboards.items():
        panels = panels_of(document)
        ids = [panel["id"] for panel in panels]
        assert len(set(ids)) == len(ids), path
        for panel in panels:
            assert panel.get("title"), f"{path}: a panel has no title"
            if panel["type"] != "row":
                assert panel.get("description"), f"{path}: {panel['title']} has no description"


def test_every_query_has_a_unique_ref_id_within_its_panel(dashboards):
    for path, document in dashboards.items():
        for panel in panels_of(document):
            ref_ids = [target.get("refId") for target in panel.get("targets", [])]
            assert all(ref_ids) and len(set(ref_ids)) == len(ref_ids), (path, panel["title"])


def test_every_datasource_is_one_of_the_four_fixed_uids_with_its_type(dashboards):
    seen = set()
    for path, document in dashboards.items():
        refs = [panel["datasource"] for panel in panels_of(document) if "datasource" in panel]
        refs += [
            target["datasource"]
            for panel in panels_of(document)
            for target in panel.get("targets", [])
        ]
        refs += [
            v["datasource"] for v in document["templating"].get("list", []) if "datasource" in v
        ]
        for ref in refs:
            assert set(ref) == {"type", "uid"}, f"{path}: {ref}"
            assert ref["uid"] in DATASOURCE_UIDS, f"{path}: {ref}"
            assert DATASOURCE_TYPES[ref["uid"]] == ref["type"], f"{path}: {ref}"
            seen.add(ref["uid"])
    assert seen == DATASOURCE_UIDS


def test_every_panel_with_queries_names_its_datasource(dashboards):
    for path, document in dashboards.items():
        for panel in panels_of(document):
            if panel.get("targets"):
                assert "datasource" in panel, (path, panel["title"])


def test_every_dashboard_promql_expression_is_accepted_by_promtool(dashboards, tmp_path):
    exprs = dashboard_promql(dashboards)
    assert len(exprs) > 50
    check_rules_parse(exprs, tmp_path)


def test_dashboards_query_only_metrics_of_the_contract_or_the_components(dashboards):
    assert unknown_metric_names(dashboard_promql(dashboards)) == {}


def test_the_metric_check_would_catch_a_name_outside_the_contract():
    expr = "sum(rate(http_requests_total[5m])) / on() made_up_metric"
    names = metric_names_of_all([expr])
    assert set().union(*names.values()) - allowed_metric_names() == {"made_up_metric"}
    assert unknown_metric_names([expr]) == {expr: ["made_up_metric"]}


def test_prometheus_rule_templates_pass_promtool_and_use_only_known_metrics(tmp_path):
    exprs = sorted(
        {
            rule["expr"]
            for document in rule_files().values()
            for group in document["groups"]
            for rule in group["rules"]
        }
    )
    assert len(exprs) > 30
    check_rules_parse(exprs, tmp_path)
    assert unknown_metric_names(exprs) == {}


def test_remote_write_panels_filter_on_the_remote_write_queue_name(dashboards):
    remote = [e for e in dashboard_promql(dashboards) if "prometheus_remote_storage_" in e]
    assert remote and all('remote_name="mimir-remote-write"' in e for e in remote)


def test_loki_queries_select_the_applications_streams(dashboards):
    loki = [
        target["expr"]
        for document in dashboards.values()
        for panel in panels_of(document)
        for target in panel.get("targets", [])
        if target.get("datasource", {}).get("uid") == "grafana_loki"
    ]
    assert loki and all(expr.count("{app=~") >= 1 for expr in loki)


def test_live_logs_offers_app_env_level_and_search_variables(dashboards):
    document = dashboards["Loki/gatewayz-live-logs.json"]
    assert {v["name"] for v in document["templating"]["list"]} == {"app", "env", "level", "search"}


def test_tracing_dashboard_searches_tempo_for_errors_and_slow_spans(dashboards):
    document = dashboards["Tempo/gatewayz-distributed-tracing.json"]
    searches = [
        target["query"]
        for panel in panels_of(document)
        for target in panel.get("targets", [])
        if target.get("queryType") == "traceql"
    ]
    assert any("status = error" in q for q in searches)
    assert any("duration >" in q for q in searches)


# --- users' own dashboards -------------------------------------------------------------------


def write(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document))


def test_extra_dashboards_land_in_the_folder_named_by_their_subfolder(tmp_path):
    write(tmp_path / "Team A" / "mine.json", {"uid": "team-a-mine", "title": "Mine", "id": 7})
    write(tmp_path / "top.json", {"uid": "top", "title": "Top"})
    files = load_extra_dashboards(tmp_path)
    assert set(files) == {"Team A/mine.json", "top.json"}
    mine = json.loads(files["Team A/mine.json"])
    assert mine == {"uid": "team-a-mine", "title": "Mine"}
    assert files["top.json"].endswith(b"\n")


def test_extra_dashboards_render_identically_twice(tmp_path):
    write(tmp_path / "x" / "a.json", {"title": "A", "uid": "a", "panels": [{"b": 1, "a": 2}]})
    assert load_extra_dashboards(tmp_path) == load_extra_dashboards(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a readable JSON file"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({"title": "No uid"}), "'uid'"),
        (json.dumps({"uid": "no-title"}), "'title'"),
        (json.dumps({"uid": "gatewayz-live-logs", "title": "Clash"}), "already used by built-in"),
    ],
)
def test_a_bad_extra_dashboard_is_refused_naming_the_file(tmp_path, content, message):
    write(tmp_path / "Folder" / "bad.json", content)
    with pytest.raises(DataError, match=message) as caught:
        load_extra_dashboards(tmp_path)
    assert str(tmp_path / "Folder" / "bad.json") in str(caught.value)


def test_two_extra_dashboards_with_one_uid_are_refused(tmp_path):
    write(tmp_path / "A" / "one.json", {"uid": "same", "title": "One"})
    write(tmp_path / "B" / "two.json", {"uid": "same", "title": "Two"})
    with pytest.raises(DataError, match="already used by"):
        load_extra_dashboards(tmp_path)


def test_extra_dashboards_nested_deeper_than_one_folder_are_refused(tmp_path):
    write(tmp_path / "A" / "B" / "deep.json", {"uid": "deep", "title": "Deep"})
    with pytest.raises(DataError, match="one folder deep"):
        load_extra_dashboards(tmp_path)


def test_a_missing_extra_dashboards_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_extra_dashboards(tmp_path / "absent")
