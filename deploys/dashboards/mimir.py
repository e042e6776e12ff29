"""Mimir: the long-term store -- what it ingests and holds, how fast it answers, and whether
Prometheus's remote write keeps up."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from deploys.dashboards._panels import (
    MIMIR,
    PROMETHEUS,
    REMOTE_WRITE,
    new_dashboard,
    row,
    single_stat,
    timeseries,
)

FOLDER = "Mimir"

# Mimir's own metrics come from the `mimir` scrape job (section 2 of the stack's spec).
JOB = 'job="mimir"'


def long_term_metrics() -> dashboard.Dashboard:
    return (
        new_dashboard(
            "Long-term Metrics",
            "gatewayz-long-term-metrics",
            "Mimir's ingestion, active series, blocks and request latency by route, Prometheus's "
            "remote write into it, and Mimir's Go runtime.",
            ["mimir"],
        )
        .with_row(row("Ingestion"))
        .with_panel(
            single_stat(
                "Samples in/s",
                "Samples the distributor accepts.",
                "sum(rate(cortex_distributor_received_samples_total[5m]))",
                datasource=MIMIR,
            )
        )
        .with_panel(
            single_stat(
                "Active series",
                "Series the ingesters hold in memory.",
                "sum(cortex_ingester_memory_series)",
                datasource=MIMIR,
                steps=[(None, "green"), (400000, "orange"), (500000, "red")],
            )
        )
        .with_panel(
            single_stat(
                "Tenants",
                "Tenants with series in the ingesters.",
                "max(cortex_ingester_memory_users)",
                datasource=MIMIR,
            )
        )
        .with_panel(
            single_stat(
                "Blocks shipped (24h)",
                "TSDB blocks the ingesters uploaded to storage.",
                "sum(increase(cortex_ingester_shipper_uploads_total[24h]))",
                datasource=MIMIR,
            )
        )
        .with_panel(
            timeseries(
                "Samples received by tenant",
                "Distributor ingest rate per tenant.",
                [
                    (
                        "sum by (user) (rate(cortex_distributor_received_samples_total[5m]))",
                        "{{user}}",
                    )
                ],
                datasource=MIMIR,
            )
        )
        .with_panel(
            timeseries(
                "Samples ingested",
                "Samples appended by the ingesters.",
                [
                    ("sum(rate(cortex_ingester_ingested_samples_total[5m]))", "ingested"),
                    ("sum(rate(cortex_ingester_ingested_samples_failures_total[5m]))", "failed"),
                ],
                datasource=MIMIR,
            )
        )
        .with_panel(
            timeseries(
                "Active series by tenant",
                "Series in memory, per tenant.",
                [("sum by (user) (cortex_ingester_active_series)", "{{user}}")],
                datasource=MIMIR,
            )
        )
        .with_panel(
            timeseries(
                "Block uploads",
                "Blocks shipped to storage, and failures.",
                [
                    ("sum(increase(cortex_ingester_shipper_uploads_total[1h]))", "uploaded"),
                    ("sum(increase(cortex_ingester_shipper_upload_failures_total[1h]))", "failed"),
                ],
                datasource=MIMIR,
            )
        )
        .with_row(row("Requests"))
        .with_panel(
            timeseries(
                "Request p99 by route",
                "99th percentile request duration per HTTP/gRPC route.",
                [
                    (
                        "histogram_quantile(0.99, sum by (le, route) "
                        "(rate(cortex_request_duration_seconds_bucket[5m])))",
                        "{{route}}",
                    )
                ],
                unit="s",
                datasource=MIMIR,
            )
        )
        .with_panel(
            timeseries(
                "Requests by route",
                "Requests per second per route and status.",
                [
                    (
                        "sum by (route, status_code) "
                        "(rate(cortex_request_duration_seconds_count[5m]))",
                        "{{route}} {{status_code}}",
                    )
                ],
                unit="reqps",
                datasource=MIMIR,
            )
        )
        .with_row(row("Remote write from Prometheus"))
        .with_panel(
            timeseries(
                "Samples sent and failed",
                "As Prometheus reports it, so failures show even when Mimir is unreachable.",
                [
                    (
                        f"rate(prometheus_remote_storage_samples_total{{{REMOTE_WRITE}}}[5m])",
                        "sent",
                    ),
                    (
                        f"rate(prometheus_remote_storage_samples_failed_total{{{REMOTE_WRITE}}}[5m])",
                        "failed",
                    ),
                ],
                datasource=PROMETHEUS,
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Shards",
                "Remote-write shards running, wanted and allowed.",
                [
                    (f"prometheus_remote_storage_shards{{{REMOTE_WRITE}}}", "running"),
                    (f"prometheus_remote_storage_shards_desired{{{REMOTE_WRITE}}}", "desired"),
                    (f"prometheus_remote_storage_shards_max{{{REMOTE_WRITE}}}", "max"),
                ],
                datasource=PROMETHEUS,
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Pending samples",
                "Samples queued but not yet sent.",
                [(f"prometheus_remote_storage_samples_pending{{{REMOTE_WRITE}}}", "pending")],
                datasource=PROMETHEUS,
                width=8,
            )
        )
        .with_row(row("Go runtime"))
        .with_panel(
            timeseries(
                "Goroutines",
                "Goroutines in each Mimir process.",
                [(f"go_goroutines{{{JOB}}}", "{{instance}}")],
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Heap in use",
                "Go heap bytes in use.",
                [(f"go_memstats_heap_inuse_bytes{{{JOB}}}", "{{instance}}")],
                unit="bytes",
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Longest GC pause",
                "The longest garbage-collection pause in the window.",
                [(f'go_gc_duration_seconds{{{JOB}, quantile="1"}}', "{{instance}}")],
                unit="s",
                width=8,
            )
        )
    )


def dashboards() -> list[dashboard.Dashboard]:
    return [long_term_metrics()]
