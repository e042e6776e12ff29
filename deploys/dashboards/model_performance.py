"""Model Performance: what the models are used for, what they cost, and how fast they answer."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from deploys.dashboards._panels import (
    new_dashboard,
    row,
    single_stat,
    timeseries,
    top_table,
    trace_search,
)

FOLDER = "Model Performance"


def free_model_usage() -> dashboard.Dashboard:
    return (
        new_dashboard(
            "Free Model Usage",
            "gatewayz-free-model-usage",
            "Requests served by free models, and their share of all inference.",
            ["models"],
        )
        .with_panel(
            single_stat(
                "Free requests (24h)",
                "Requests to free models over the last day.",
                "sum(increase(free_model_usage_total[24h]))",
            )
        )
        .with_panel(
            single_stat(
                "Free share of inference",
                "Free-model requests as a share of all inference requests.",
                "sum(rate(free_model_usage_total[1h])) / "
                "sum(rate(model_inference_requests_total[1h]))",
                unit="percentunit",
            )
        )
        .with_panel(
            single_stat(
                "Free models in use",
                "Free models that served a request in the last hour.",
                "count(sum by (model) (increase(free_model_usage_total[1h])) > 0)",
            )
        )
        .with_panel(
            single_stat(
                "Free requests/s",
                "Current rate of requests to free models.",
                "sum(rate(free_model_usage_total[5m]))",
                unit="reqps",
            )
        )
        .with_panel(
            timeseries(
                "Free requests by model",
                "Request rate to each free model.",
                [("sum by (model) (rate(free_model_usage_total[5m]))", "{{model}}")],
                unit="reqps",
            )
        )
        .with_panel(
            top_table(
                "Top free models (24h)",
                "The ten most-used free models over the last day.",
                "topk(10, sum by (model) (increase(free_model_usage_total[24h])))",
            )
        )
    )


def paid_model_usage() -> dashboard.Dashboard:
    return (
        new_dashboard(
            "Paid Model LLM Usage",
            "gatewayz-paid-model-usage",
            "Requests, tokens in and out, credits and cost by model and provider.",
            ["models", "cost"],
        )
        .with_row(row("Requests"))
        .with_panel(
            timeseries(
                "Requests by model",
                "Inference request rate per model.",
                [("sum by (model) (rate(model_inference_requests_total[5m]))", "{{model}}")],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries(
                "Requests by provider",
                "Inference request rate per provider.",
                [("sum by (provider) (rate(model_inference_requests_total[5m]))", "{{provider}}")],
                unit="reqps",
            )
        )
        .with_row(row("Tokens"))
        .with_panel(
            timeseries(
                "Input tokens by model",
                "Prompt tokens sent per second, per model.",
                [('sum by (model) (rate(tokens_used_total{token_type="input"}[5m]))', "{{model}}")],
            )
        )
        .with_panel(
            timeseries(
                "Output tokens by model",
                "Completion tokens received per second, per model.",
                [
                    (
                        'sum by (model) (rate(tokens_used_total{token_type="output"}[5m]))',
                        "{{model}}",
                    )
                ],
            )
        )
        .with_panel(
            top_table(
                "Tokens by model (24h)",
                "Input and output tokens per model over the last day.",
                "sum by (model, token_type) (increase(tokens_used_total[24h]))",
            )
        )
        .with_row(row("Credits and cost"))
        .with_panel(
            timeseries(
                "Credits used by provider",
                "Credits charged per hour, per provider.",
                [("sum by (provider) (increase(credits_used_total[1h]))", "{{provider}}")],
            )
        )
        .with_panel(
            single_stat(
                "Cost today",
                "Provider cost over the last day (recording rule cost:daily:total).",
                "cost:daily:total",
                unit="currencyUSD",
            )
        )
        .with_panel(
            single_stat(
                "Cost, 7-day daily average",
                "Average daily provider cost over the last week.",
                "cost:daily:7d_avg",
                unit="currencyUSD",
            )
        )
        .with_panel(
            top_table(
                "Cost by provider (24h)",
                "Provider cost over the last day.",
                "cost:by_provider",
                unit="currencyUSD",
            )
        )
    )


def request_analysis() -> dashboard.Dashboard:
    def quantiles(by: str) -> list[tuple[str, str]]:
        return [
            (
                f"histogram_quantile({q}, sum by (le, {by}) "
                f"(rate(model_inference_duration_seconds_bucket[5m])))",
                f"p{q[2:]} {{{{{by}}}}}",
            )
            for q in ("0.50", "0.95", "0.99")
        ]

    return (
        new_dashboard(
            "Request Analysis",
            "gatewayz-request-analysis",
            "Inference request rates and latency percentiles by model and provider, and the "
            "slowest traces.",
            ["models", "latency"],
        )
        .with_row(row("Rates"))
        .with_panel(
            timeseries(
                "Requests by provider and status",
                "Inference requests per second, success or error.",
                [
                    (
                        "sum by (provider, status) (rate(model_inference_requests_total[5m]))",
                        "{{provider}} {{status}}",
                    )
                ],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries(
                "Error share by provider",
                "Share of inference requests that failed, per provider.",
                [
                    (
                        "sum by (provider) "
                        '(rate(model_inference_requests_total{status="error"}[5m])) '
                        "/ sum by (provider) (rate(model_inference_requests_total[5m]))",
                        "{{provider}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_row(row("Latency"))
        .with_panel(
            timeseries(
                "Latency by model (p50/p95/p99)",
                "Inference duration percentiles per model.",
                quantiles("model"),
                unit="s",
            )
        )
        .with_panel(
            timeseries(
                "Latency by provider (p50/p95/p99)",
                "Inference duration percentiles per provider.",
                quantiles("provider"),
                unit="s",
            )
        )
        .with_panel(
            timeseries(
                "Time to first chunk (p95)",
                "How long streamed answers take to start.",
                [
                    (
                        "histogram_quantile(0.95, sum by (le) "
                        "(rate(time_to_first_chunk_seconds_bucket[5m])))",
                        "p95",
                    )
                ],
                unit="s",
            )
        )
        .with_panel(
            timeseries(
                "Average time by request stage",
                "Where a request spends its time, on average.",
                [
                    (
                        "sum by (stage) (rate(request_stage_duration_seconds_sum[5m])) "
                        "/ sum by (stage) (rate(request_stage_duration_seconds_count[5m]))",
                        "{{stage}}",
                    )
                ],
                unit="s",
            )
        )
        .with_row(row("Slow traces"))
        .with_panel(
            trace_search(
                "Slow model calls",
                "Traces of model calls that took longer than 5s.",
                "{ span.gen_ai.system != nil && duration > 5s }",
                width=24,
            )
        )
    )


def dashboards() -> list[dashboard.Dashboard]:
    return [free_model_usage(), paid_model_usage(), request_analysis()]
