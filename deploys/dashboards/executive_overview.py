"""Executive Overview: the four golden signals and what is alerting, on one screen."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from deploys.dashboards._panels import (
    alert_list,
    new_dashboard,
    p95_latency_stat,
    row,
    single_stat,
    timeseries,
)

FOLDER = "Executive Overview"


def executive_overview() -> dashboard.Dashboard:
    return (
        new_dashboard(
            "Executive Overview",
            "gatewayz-executive-overview",
            "Traffic, errors, latency and saturation at a glance, and the alerts firing now.",
            ["overview"],
        )
        .refresh("1m")
        .time("now-24h", "now")
        .with_panel(
            single_stat(
                "Traffic",
                "Requests per second over 5 minutes.",
                "traffic:requests_per_second:rate5m",
                unit="reqps",
                width=4,
            )
        )
        .with_panel(
            single_stat(
                "Error rate",
                "Share of requests answered 4xx or 5xx.",
                "errors:rate:percentage",
                unit="percent",
                steps=[(None, "green"), (5, "orange"), (10, "red")],
                width=4,
            )
        )
        .with_panel(p95_latency_stat(width=4))
        .with_panel(
            single_stat(
                "p99 latency",
                "99th percentile request duration.",
                "latency:p99:seconds",
                unit="s",
                steps=[(None, "green"), (5, "orange"), (10, "red")],
                width=4,
            )
        )
        .with_panel(
            single_stat(
                "Availability",
                "Share of requests not answered 5xx.",
                "availability:system:percentage",
                unit="percent",
                steps=[(None, "red"), (95, "orange"), (99.5, "green")],
                width=4,
            )
        )
        .with_panel(
            single_stat(
                "Firing Prometheus alerts",
                "Prometheus-side alert rules firing now.",
                'count(ALERTS{alertstate="firing"}) or vector(0)',
                steps=[(None, "green"), (1, "red")],
                width=4,
            )
        )
        .with_row(row("Trends"))
        .with_panel(
            timeseries(
                "Traffic against its 7-day average",
                "Request rate now and its weekly baseline.",
                [
                    ("traffic:requests_per_second:rate5m", "now"),
                    ("traffic:requests_per_second:rate7d", "7-day average"),
                ],
                unit="reqps",
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Error rate against its daily average",
                "Error share now and over 24h.",
                [
                    ("errors:rate:percentage", "now"),
                    ("errors:rate:percentage:24h_avg", "24h average"),
                ],
                unit="percent",
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Latency p95 and p99",
                "Request duration percentiles.",
                [("latency:p95:seconds", "p95"), ("latency:p99:seconds", "p99")],
                unit="s",
                width=8,
            )
        )
        .with_row(row("Saturation and alerts"))
        .with_panel(
            timeseries(
                "Saturation",
                "Requests in flight and Redis memory use.",
                [
                    ("sum(fastapi_requests_in_progress)", "requests in flight"),
                    (
                        "max(100 * redis_memory_used_bytes / (redis_memory_max_bytes > 0))",
                        "Redis memory %",
                    ),
                ],
                width=12,
            )
        )
        .with_panel(
            alert_list("Firing alerts", "Grafana-managed alert rules firing or pending now.")
        )
    )


def dashboards() -> list[dashboard.Dashboard]:
    return [executive_overview()]
