"""Tempo: traces received, and the span metrics Tempo's generator writes to Mimir."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from deploys.dashboards._panels import (
    MIMIR,
    new_dashboard,
    row,
    single_stat,
    timeseries,
    trace_search,
)

FOLDER = "Tempo"

# Span-metric label names: Tempo writes `service.name` as `service` and replaces the dots of
# the other configured dimensions with underscores.
ERROR = 'status_code="STATUS_CODE_ERROR"'


def _calls(by: str, matcher: str = "") -> str:
    return f"sum by ({by}) (rate(traces_spanmetrics_calls_total{matcher}[5m]))"


def _p95(by: str = "") -> str:
    labels = f"le, {by}" if by else "le"
    return (
        f"histogram_quantile(0.95, sum by ({labels}) (rate(traces_spanmetrics_latency_bucket[5m])))"
    )


def distributed_tracing() -> dashboard.Dashboard:
    built = (
        new_dashboard(
            "Distributed Tracing",
            "gatewayz-distributed-tracing",
            "Spans received, span calls, errors and p95 by operation, provider and model, and "
            "TraceQL searches for errors and slow spans.",
            ["traces", "tempo"],
        )
        .with_panel(
            single_stat(
                "Spans received/s",
                "Spans Tempo's distributor accepts.",
                "sum(rate(tempo_distributor_spans_received_total[5m]))",
                unit="short",
            )
        )
        .with_panel(
            single_stat(
                "Span error share",
                "Share of spans with status error.",
                f"sum(rate(traces_spanmetrics_calls_total{{{ERROR}}}[5m])) "
                "/ sum(rate(traces_spanmetrics_calls_total[5m]))",
                unit="percentunit",
                datasource=MIMIR,
                steps=[(None, "green"), (0.01, "orange"), (0.05, "red")],
            )
        )
        .with_panel(
            single_stat(
                "Service graph requests/s",
                "Requests between services seen in traces.",
                "sum(rate(traces_service_graph_request_total[5m]))",
                datasource=MIMIR,
            )
        )
        .with_panel(
            single_stat(
                "Span p95",
                "95th percentile span duration, all operations.",
                _p95(),
                unit="s",
                datasource=MIMIR,
            )
        )
    )
    for title, by in (
        ("operation", "span_name"),
        ("provider", "ai_provider"),
        ("model", "gen_ai_request_model"),
    ):
        built = (
            built.with_row(row(f"By {title}"))
            .with_panel(
                timeseries(
                    f"Span calls by {title}",
                    f"Spans per second, per {title}.",
                    [(_calls(by), f"{{{{{by}}}}}")],
                    datasource=MIMIR,
                    width=8,
                )
            )
            .with_panel(
                timeseries(
                    f"Span errors by {title}",
                    f"Spans with status error per second, per {title}.",
                    [(_calls(by, f"{{{ERROR}}}"), f"{{{{{by}}}}}")],
                    datasource=MIMIR,
                    width=8,
                )
            )
            .with_panel(
                timeseries(
                    f"Span p95 by {title}",
                    f"95th percentile span duration, per {title}.",
                    [(_p95(by), f"{{{{{by}}}}}")],
                    unit="s",
                    datasource=MIMIR,
                    width=8,
                )
            )
        )
    return (
        built.with_row(row("Searches"))
        .with_panel(
            trace_search(
                "Traces with errors",
                "The latest traces holding a span with status error.",
                "{ status = error }",
            )
        )
        .with_panel(
            trace_search(
                "Slow spans",
                "The latest traces holding a span longer than 2s.",
                "{ duration > 2s }",
            )
        )
    )


def dashboards() -> list[dashboard.Dashboard]:
    return [distributed_tracing()]
