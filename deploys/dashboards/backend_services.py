"""Backend Services: the providers behind the API, their circuit breakers, the caches and the
API's own performance."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from deploys.dashboards._panels import (
    hit_ratio,
    new_dashboard,
    row,
    single_stat,
    timeseries,
    top_table,
)

FOLDER = "Backend Services"


def backend_services() -> dashboard.Dashboard:
    return (
        new_dashboard(
            "Backend Services",
            "gatewayz-backend-services",
            "Provider availability and circuit breakers, cache hit rates and API performance.",
            ["backend", "providers"],
        )
        .with_row(row("Providers"))
        .with_panel(
            single_stat(
                "Providers available",
                "Providers currently reporting available.",
                "sum(provider_availability)",
                width=6,
            )
        )
        .with_panel(
            single_stat(
                "Open circuit breakers",
                "Providers whose circuit breaker is open.",
                'count(circuit_breaker_state{state="open"} == 1) or vector(0)',
                steps=[(None, "green"), (1, "red")],
                width=6,
            )
        )
        .with_panel(
            single_stat(
                "Gateway health",
                "Gateway health as reported by the API.",
                "availability:gateway:percentage",
                unit="percent",
                steps=[(None, "red"), (80, "orange"), (95, "green")],
                width=6,
            )
        )
        .with_panel(
            single_stat(
                "Models available",
                "Models currently reporting available.",
                "sum(model_availability)",
                width=6,
            )
        )
        .with_panel(
            timeseries(
                "Provider availability",
                "Share of the last 5 minutes each provider was available.",
                [("availability:provider:percentage", "{{provider}}")],
                unit="percent",
            )
        )
        .with_panel(
            timeseries(
                "Provider error rate",
                "Error rate each provider reports.",
                [("provider_error_rate", "{{provider}}")],
                unit="percentunit",
            )
        )
        .with_panel(
            timeseries(
                "Provider response time p95",
                "95th percentile provider response time.",
                [
                    (
                        "histogram_quantile(0.95, sum by (le, provider) "
                        "(rate(provider_response_time_seconds_bucket[5m])))",
                        "{{provider}}",
                    )
                ],
                unit="s",
            )
        )
        .with_panel(
            timeseries(
                "Circuit breaker transitions",
                "State changes per hour, per provider.",
                [
                    (
                        "sum by (provider, to_state) "
                        "(increase(circuit_breaker_state_transitions_total[1h]))",
                        "{{provider}} -> {{to_state}}",
                    )
                ],
            )
        )
        .with_row(row("Caches"))
        .with_panel(
            timeseries(
                "Cache hit rate",
                "Share of lookups that hit, per cache.",
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
                "Catalog cache hit rate",
                "Share of catalog lookups that hit, per gateway.",
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
        .with_row(row("API performance"))
        .with_panel(
            top_table(
                "Slowest endpoints (p95)",
                "The ten endpoints with the highest p95.",
                "topk(10, latency:p95:by_endpoint)",
                unit="s",
            )
        )
        .with_panel(
            top_table(
                "Endpoints with most errors",
                "The ten endpoints with the highest error share.",
                "topk(10, errors:rate:by_endpoint)",
                unit="percent",
            )
        )
        .with_panel(
            timeseries(
                "Streaming time to first byte (p95)",
                "How long the backend takes to answer.",
                [
                    (
                        "histogram_quantile(0.95, sum by (le) "
                        "(rate(backend_ttfb_seconds_bucket[5m])))",
                        "ttfb p95",
                    ),
                    (
                        "histogram_quantile(0.95, sum by (le) "
                        "(rate(streaming_duration_seconds_bucket[5m])))",
                        "stream p95",
                    ),
                ],
                unit="s",
                width=24,
            )
        )
    )


def dashboards() -> list[dashboard.Dashboard]:
    return [backend_services()]
