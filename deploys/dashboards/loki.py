"""Loki: the application's logs -- live, by error type, and what they say about abuse."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models.dashboard import VariableOption, VariableRefresh

from deploys.dashboards._panels import (
    LOKI,
    log_stream,
    log_volume,
    new_dashboard,
    row,
    timeseries,
)

FOLDER = "Loki"

# Stream labels every GatewayZ log line carries; `level` and `error_type` are logfmt fields.
APPS = 'app=~"gatewayz.*"'


def _label_variable(name: str, label: str) -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(LOKI)
        .query(f"label_values({name})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .include_all(True)
        .all_value(".*")
        .multi(True)
        .current(VariableOption(selected=True, text="All", value="$__all"))
    )


def live_logs() -> dashboard.Dashboard:
    selector = '{app=~"$app", env=~"$env"} | logfmt | level=~"$level"'
    return (
        new_dashboard(
            "Live Logs",
            "gatewayz-live-logs",
            "Log volume by level and the live stream, filtered by app, environment, level and "
            "a search string.",
            ["logs"],
        )
        .refresh("10s")
        .time("now-1h", "now")
        .with_variable(_label_variable("app", "App").regex("gatewayz.*"))
        .with_variable(_label_variable("env", "Environment"))
        .with_variable(
            dashboard.CustomVariable("level")
            .label("Level")
            .values("debug,info,warning,error,critical")
            .include_all(True)
            .all_value(".*")
            .multi(True)
            .current(VariableOption(selected=True, text="All", value="$__all"))
        )
        .with_variable(dashboard.TextBoxVariable("search").label("Search").default_value(""))
        .with_panel(
            log_volume(
                "Log volume by level",
                "Lines per level in each interval.",
                [
                    (
                        f'sum by (level) (count_over_time({selector} |= "$search" [$__auto]))',
                        "{{level}}",
                    )
                ],
                width=24,
                height=7,
            )
        )
        .with_panel(
            log_stream(
                "Log stream",
                "The matching lines, newest first; a trace_id links to Tempo.",
                f'{selector} |= "$search"',
                height=16,
            )
        )
    )


def error_analysis() -> dashboard.Dashboard:
    errors = f'{{{APPS}}} | logfmt | error_type != ""'
    return (
        new_dashboard(
            "Error Analysis",
            "gatewayz-error-analysis",
            "Errors logged by the application, by error_type.",
            ["logs", "errors"],
        )
        .with_panel(
            log_volume(
                "Errors by type",
                "Error lines per error_type in each interval.",
                [(f"sum by (error_type) (count_over_time({errors} [$__auto]))", "{{error_type}}")],
                width=16,
            )
        )
        .with_panel(
            log_volume(
                "Error and critical lines by service",
                "Lines at level error or critical.",
                [
                    (
                        f"sum by (service) (count_over_time({{{APPS}}} | logfmt | "
                        'level=~"error|critical" '
                        "[$__auto]))",
                        "{{service}}",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Unhandled exceptions by type",
                "Exceptions the API middleware caught, per second.",
                [
                    (
                        "sum by (exception_type) (rate(fastapi_exceptions_total[5m]))",
                        "{{exception_type}}",
                    )
                ],
                width=24,
            )
        )
        .with_row(row("Lines"))
        .with_panel(
            log_stream("Error lines", "Every line with an error_type, newest first.", errors)
        )
    )


def security_and_rate_limiting() -> dashboard.Dashboard:
    limited = f'{{{APPS}}} |~ "(?i)rate.?limit"'
    denied = f'{{{APPS}}} |~ "(?i)(unauthori[sz]ed|forbidden|invalid api key)"'
    return (
        new_dashboard(
            "Security and Rate Limiting",
            "gatewayz-security-rate-limiting",
            "Rejected and throttled requests: 401/403/429 answers and what the logs say about "
            "them.",
            ["logs", "security"],
        )
        .with_panel(
            timeseries(
                "Rate-limited requests (429)",
                "Requests answered 429, per endpoint.",
                [
                    (
                        'sum by (endpoint) (rate(http_requests_total{status_code="429"}[5m]))',
                        "{{endpoint}}",
                    )
                ],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries(
                "Denied requests (401/403)",
                "Requests refused for missing or bad credentials.",
                [
                    (
                        "sum by (status_code) "
                        '(rate(http_requests_total{status_code=~"401|403"}[5m]))',
                        "{{status_code}}",
                    )
                ],
                unit="reqps",
            )
        )
        .with_panel(
            log_volume(
                "Rate-limit log lines",
                "Lines that mention rate limiting.",
                [(f"sum by (service) (count_over_time({limited} [$__auto]))", "{{service}}")],
            )
        )
        .with_panel(
            log_volume(
                "Authentication failure log lines",
                "Lines about refused credentials.",
                [(f"sum by (service) (count_over_time({denied} [$__auto]))", "{{service}}")],
            )
        )
        .with_row(row("Lines"))
        .with_panel(
            log_stream(
                "Rate-limit and authentication lines",
                "The matching lines, newest first.",
                f'{{{APPS}}} |~ "(?i)(rate.?limit|unauthori[sz]ed|forbidden|invalid api key)"',
            )
        )
    )


def dashboards() -> list[dashboard.Dashboard]:
    return [live_logs(), error_analysis(), security_and_rate_limiting()]
