"""Prometheus: the API's telemetry as Prometheus scrapes it, the health of the stack's own
pipelines, and the Redis cache behind the API."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from deploys.dashboards._panels import (
    REMOTE_WRITE,
    hit_ratio,
    new_dashboard,
    p95_latency_stat,
    row,
    single_stat,
    timeseries,
    top_table,
)

FOLDER = "Prometheus"

REDIS_MEMORY_PERCENT = "100 * redis_memory_used_bytes / (redis_memory_max_bytes > 0)"
REDIS_HIT_RATIO = (
    "rate(redis_keyspace_hits_total[5m]) "
    "/ (rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m]))"
)


def backend_telemetry() -> dashboard.Dashboard:
    return (
        new_dashboard(
            "Backend Telemetry",
            "gatewayz-backend-telemetry",
            "The GatewayZ API's requests, errors, latency and database use, and whether "
            "metrics, logs and traces reach Mimir, Loki and Tempo.",
            ["backend", "prometheus"],
        )
        .with_row(row("Requests"))
        .with_panel(
            single_stat(
                "Request rate",
                "Requests per second over 5 minutes.",
                "traffic:requests_per_second:rate5m",
                unit="reqps",
            )
        )
        .with_panel(
            single_stat(
                "5xx share",
                "Share of requests answered 5xx.",
                "errors:5xx:percentage",
                unit="percent",
                steps=[(None, "green"), (1, "orange"), (5, "red")],
            )
        )
        .with_panel(p95_latency_stat())
        .with_panel(
            single_stat(
                "In flight", "Requests being served right now.", "sum(fastapi_requests_in_progress)"
            )
        )
        .with_panel(
            timeseries(
                "Request rate by status",
                "Requests per second, by status code.",
                [("sum by (status_code) (rate(http_requests_total[5m]))", "{{status_code}}")],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries(
                "Error shares",
                "4xx and 5xx answers as a share of all requests.",
                [("errors:4xx:percentage", "4xx"), ("errors:5xx:percentage", "5xx")],
                unit="percent",
            )
        )
        .with_panel(
            timeseries(
                "Latency percentiles",
                "p50, p95 and p99 request duration.",
                [
                    ("latency:p50:seconds", "p50"),
                    ("latency:p95:seconds", "p95"),
                    ("latency:p99:seconds", "p99"),
                ],
                unit="s",
            )
        )
        .with_panel(
            top_table(
                "Top endpoints",
                "The ten busiest endpoints, requests per second.",
                "topk(10, traffic:requests_per_second:by_endpoint)",
                unit="reqps",
            )
        )
        .with_row(row("Database"))
        .with_panel(
            timeseries(
                "Database queries by table",
                "Queries per second per table and operation.",
                [
                    (
                        "sum by (table, operation) (rate(database_queries_total[5m]))",
                        "{{table}} {{operation}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries(
                "Average query duration by table",
                "Mean time a database query takes, per table.",
                [
                    (
                        "sum by (table) (rate(database_query_duration_seconds_sum[5m])) "
                        "/ sum by (table) (rate(database_query_duration_seconds_count[5m]))",
                        "{{table}}",
                    )
                ],
                unit="s",
            )
        )
        .with_row(row("Telemetry pipelines"))
        .with_panel(
            timeseries(
                "Remote write to Mimir",
                "Samples sent, failed and retried by Prometheus.",
                [
                    (
                        f"rate(prometheus_remote_storage_samples_total{{{REMOTE_WRITE}}}[5m])",
                        "sent",
                    ),
                    (
                        f"rate(prometheus_remote_storage_samples_failed_total{{{REMOTE_WRITE}}}[5m])",
                        "failed",
                    ),
                    (
                        f"rate(prometheus_remote_storage_samples_retried_total{{{REMOTE_WRITE}}}[5m])",
                        "retried",
                    ),
                ],
                unit="short",
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Loki ingest",
                "Log lines and bytes Loki's distributor receives.",
                [
                    ("sum(rate(loki_distributor_lines_received_total[5m]))", "lines/s"),
                    ("sum(rate(loki_distributor_bytes_received_total[5m]))", "bytes/s"),
                ],
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Tempo ingest",
                "Spans Tempo's distributor receives.",
                [("sum(rate(tempo_distributor_spans_received_total[5m]))", "spans/s")],
                width=8,
            )
        )
    )


def redis_cache() -> dashboard.Dashboard:
    return (
        new_dashboard(
            "Redis Cache",
            "gatewayz-redis-cache",
            "The API's Redis cache as redis_exporter sees it, and the API's own cache hit rates.",
            ["redis", "cache"],
        )
        .with_panel(
            single_stat(
                "Redis up",
                "1 when redis_exporter can reach Redis.",
                "min(redis_up)",
                steps=[(None, "red"), (1, "green")],
            )
        )
        .with_panel(
            single_stat(
                "Memory used",
                "Used memory as a share of maxmemory (empty when unlimited).",
                f"max({REDIS_MEMORY_PERCENT})",
                unit="percent",
                steps=[(None, "green"), (80, "orange"), (90, "red")],
            )
        )
        .with_panel(
            single_stat(
                "Clients",
                "Connected clients.",
                "sum(redis_connected_clients)",
                steps=[(None, "green"), (100, "orange")],
            )
        )
        .with_panel(
            single_stat(
                "Keyspace hit rate",
                "Lookups that found their key.",
                f"avg({REDIS_HIT_RATIO})",
                unit="percentunit",
                steps=[(None, "red"), (0.5, "orange"), (0.8, "green")],
            )
        )
        .with_panel(
            timeseries(
                "Commands per second",
                "Commands Redis processed.",
                [("sum(rate(redis_commands_processed_total[5m]))", "ops/s")],
                unit="ops",
            )
        )
        .with_panel(
            timeseries(
                "Memory",
                "Used memory against maxmemory.",
                [("sum(redis_memory_used_bytes)", "used"), ("sum(redis_memory_max_bytes)", "max")],
                unit="bytes",
            )
        )
        .with_panel(
            timeseries(
                "Keyspace hit rate",
                "Share of lookups that hit.",
                [(REDIS_HIT_RATIO, "{{instance}}")],
                unit="percentunit",
            )
        )
        .with_panel(
            timeseries(
                "Evictions",
                "Keys evicted to stay under maxmemory.",
                [("sum(rate(redis_evicted_keys_total[5m]))", "evicted/s")],
            )
        )
        .with_row(row("Application caches"))
        .with_panel(
            timeseries(
                "Cache hit rate by cache",
                "The API's own caches: share of lookups that hit.",
                [
                    (
                        hit_ratio("cache_hits_total", "cache_misses_total", "cache_name"),
                        "{{cache_name}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_panel(
            timeseries(
                "Catalog cache hit rate by gateway",
                "Model catalog cache: share of lookups that hit.",
                [
                    (
                        hit_ratio(
                            "catalog_cache_hits_total", "catalog_cache_misses_total", "gateway"
                        ),
                        "{{gateway}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_panel(
            timeseries(
                "Application cache size",
                "Bytes held by the API's caches.",
                [("sum(cache_size_bytes)", "size")],
                unit="bytes",
                width=24,
            )
        )
    )


def dashboards() -> list[dashboard.Dashboard]:
    return [backend_telemetry(), redis_cache()]
