"""Panel builders shared by the dashboard modules, and the step that turns a builder into the
JSON Grafana provisions.

Every dashboard refers to its datasources by their fixed UIDs (see deploys/grafana.py), so a
dashboard keeps working whatever the datasources' names and URLs are on a given host.
"""

from __future__ import annotations

import json
import string
from typing import Any, TypeVar

from grafana_foundation_sdk.builders import common, dashboard, logs, prometheus, stat, table
from grafana_foundation_sdk.builders import loki as loki_query
from grafana_foundation_sdk.builders import tempo as tempo_query
from grafana_foundation_sdk.builders import timeseries as timeseries_panel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import prometheus as prometheus_model
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
)

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="grafana_prometheus")
MIMIR = DataSourceRef(type_val="prometheus", uid="grafana_mimir")
LOKI = DataSourceRef(type_val="loki", uid="grafana_loki")
TEMPO = DataSourceRef(type_val="tempo", uid="grafana_tempo")

# The remote_write queue Prometheus sends to Mimir under (templates/prometheus/prometheus.yml.j2).
REMOTE_WRITE = 'remote_name="mimir-remote-write"'

Query = tuple[str, str]  # (PromQL expression, legend format)


def new_dashboard(title: str, uid: str, description: str, tags: list[str]) -> dashboard.Dashboard:
    """A dashboard with the stack's common settings: last 6 hours, refreshed every 30s."""
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["gatewayz", *tags])
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
    )


def row(title: str) -> dashboard.Row:
    return dashboard.Row(title)


def _thresholds(steps: list[tuple[float | None, str]]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


P = TypeVar("P", timeseries_panel.Panel, stat.Panel, table.Panel)


def _framed(
    panel: P,
    title: str,
    description: str,
    datasource: DataSourceRef,
    unit: str,
    width: int,
    height: int,
) -> P:
    """What every panel of the stack carries: title, purpose, datasource, unit and size."""
    return (
        panel.title(title)
        .description(description)
        .datasource(datasource)
        .unit(unit)
        .span(width)
        .height(height)
    )


def timeseries(
    title: str,
    description: str,
    queries: list[Query],
    *,
    unit: str = "short",
    datasource: DataSourceRef = PROMETHEUS,
    width: int = 12,
    height: int = 8,
) -> timeseries_panel.Panel:
    panel = (
        _framed(timeseries_panel.Panel(), title, description, datasource, unit, width, height)
        .fill_opacity(10)
        .legend(
            common.VizLegendOptions()
            .display_mode(common_model.LegendDisplayMode.LIST)
            .placement(common_model.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    for expr, legend in queries:
        panel = panel.with_target(prometheus.Dataquery().expr(expr).legend_format(legend))
    return panel


def single_stat(
    title: str,
    description: str,
    expr: str,
    *,
    unit: str = "short",
    datasource: DataSourceRef = PROMETHEUS,
    steps: list[tuple[float | None, str]] | None = None,
    width: int = 6,
    height: int = 4,
) -> stat.Panel:
    """One number, coloured by ``steps`` (value, colour) -- the first step's value is None."""
    return (
        _framed(stat.Panel(), title, description, datasource, unit, width, height)
        .thresholds(_thresholds(steps or [(None, "green")]))
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(prometheus.Dataquery().expr(expr).instant().legend_format("__auto"))
    )


def top_table(
    title: str,
    description: str,
    expr: str,
    *,
    unit: str = "short",
    datasource: DataSourceRef = PROMETHEUS,
    width: int = 12,
    height: int = 8,
) -> table.Panel:
    """An instant query shown as a table, one row per series."""
    query = prometheus.Dataquery().expr(expr).instant()
    query = query.format(prometheus_model.PromQueryFormat.TABLE)
    return _framed(table.Panel(), title, description, datasource, unit, width, height).with_target(
        query
    )


def log_volume(
    title: str, description: str, queries: list[Query], *, width: int = 12, height: int = 8
) -> timeseries_panel.Panel:
    panel = (
        timeseries_panel.Panel()
        .title(title)
        .description(description)
        .datasource(LOKI)
        .unit("short")
        .span(width)
        .height(height)
        .draw_style(common_model.GraphDrawStyle.BARS)
        .fill_opacity(60)
        .stacking(common.StackingConfig().mode(common_model.StackingMode.NORMAL))
    )
    for expr, legend in queries:
        panel = panel.with_target(loki_query.Dataquery().expr(expr).legend_format(legend))
    return panel


def log_stream(
    title: str, description: str, expr: str, *, width: int = 24, height: int = 12
) -> logs.Panel:
    return (
        logs.Panel()
        .title(title)
        .description(description)
        .datasource(LOKI)
        .span(width)
        .height(height)
        .show_time(True)
        .wrap_log_message(True)
        .enable_log_details(True)
        .sort_order(common_model.LogsSortOrder.DESCENDING)
        .with_target(loki_query.Dataquery().expr(expr).max_lines(1000))
    )


def trace_search(
    title: str, description: str, traceql: str, *, limit: int = 20, width: int = 12
) -> table.Panel:
    """A TraceQL search against Tempo, listed as a table of matching traces."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(TEMPO)
        .span(width)
        .height(10)
        .with_target(tempo_query.TempoQuery().query_type("traceql").query(traceql).limit(limit))
    )


def alert_list(title: str, description: str, *, width: int = 12, height: int = 8) -> Any:
    """Grafana's own list of its firing alert rules (the rules in deploys/alerting.py)."""
    return (
        dashboard.Panel()
        .type("alertlist")
        .title(title)
        .description(description)
        .span(width)
        .height(height)
        .options(
            {
                "alertInstanceLabelFilter": "",
                "groupMode": "default",
                "maxItems": 20,
                "sortOrder": 1,
                "stateFilter": {"firing": True, "pending": True, "normal": False},
                "viewMode": "list",
            }
        )
    )


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


def finish(builder: dashboard.Dashboard) -> dict[str, Any]:
    """The dashboard as plain JSON data, with stable panel ids and query refIds.

    The builders leave ids and refIds unset; Grafana would number them itself, differently
    on each import, so they are numbered here in panel order.
    """
    document: dict[str, Any] = _drop_nulls(json.loads(json.dumps(builder.build(), cls=JSONEncoder)))
    panels: list[dict[str, Any]] = []
    for panel in document.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
        for letter, target in zip(string.ascii_uppercase, panel.get("targets", []), strict=False):
            target["refId"] = letter
            if "datasource" in panel and "datasource" not in target:
                target["datasource"] = dict(panel["datasource"])
    document.pop("id", None)
    return document


def hit_ratio(hits: str, misses: str, by: str) -> str:
    """PromQL for the share of lookups that hit, per ``by`` label, from two counters."""
    return (
        f"sum by ({by}) (rate({hits}[5m])) / (sum by ({by}) (rate({hits}[5m])) "
        f"+ sum by ({by}) (rate({misses}[5m])))"
    )


def p95_latency_stat(width: int = 6) -> stat.Panel:
    """The API's p95 request duration as one number: green under 2s, red from 5s."""
    return single_stat(
        "p95 latency",
        "95th percentile request duration.",
        "latency:p95:seconds",
        unit="s",
        steps=[(None, "green"), (2, "orange"), (5, "red")],
        width=width,
    )
