"""Grafana-managed alerting, provisioned from files: the alert rule groups, the e-mail contact
points and the notification policy tree.

Grafana does all the notifying for the stack (Prometheus evaluates its own rules but routes
them nowhere). The files follow Grafana's file-provisioning format (``apiVersion: 1``) and go
under ``/etc/grafana/provisioning/alerting/``. The policy tree is kept as data here so the same
tree can be rendered as an Alertmanager route for ``amtool config routes test``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from deploys.errors import DataError
from deploys.service import HEADER
from deploys.settings import STRING_LIST, Key

__all__ = [
    "CONTACT_POINTS",
    "GROUPS",
    "KEYS",
    "ROUTES",
    "RuleGroup",
    "render_alerting",
    "routes_as_alertmanager",
]

ORG_ID = 1
PROMETHEUS = "grafana_prometheus"
MIMIR = "grafana_mimir"
EXPRESSIONS = "__expr__"  # Grafana's server-side expressions, not a datasource of ours

# Contact point name -> the data key holding its addresses, and whether it sends one digest
# mail for all alerts of a notification instead of one mail each.
CONTACT_POINTS: dict[str, tuple[str, bool]] = {
    "ops-email": ("alert_email_ops", False),
    "critical-email": ("alert_email_critical", False),
    "dev-team-email": ("alert_email_dev_team", False),
    "observatory-pool-critical": ("alert_email_pool_critical", False),
    "observatory-pool-warning": ("alert_email_pool_warning", False),
    "observatory-pool-digest": ("alert_email_pool_digest", True),
}

KEYS: tuple[Key, ...] = (
    Key(
        "alert_email_ops",
        STRING_LIST,
        ["ops@example.com"],
        "Addresses of the ops-email contact point, the root of the notification policy.",
    ),
    Key(
        "alert_email_critical",
        STRING_LIST,
        ["critical@example.com"],
        "Addresses of critical-email: critical Redis, SLO and uncategorised alerts.",
    ),
    Key(
        "alert_email_dev_team",
        STRING_LIST,
        ["dev-team@example.com"],
        "Addresses of the dev-team-email contact point.",
    ),
    Key(
        "alert_email_pool_critical",
        STRING_LIST,
        ["observatory-critical@example.com"],
        "Addresses of observatory-pool-critical: critical anomaly alerts.",
    ),
    Key(
        "alert_email_pool_warning",
        STRING_LIST,
        ["observatory-warning@example.com"],
        "Addresses of observatory-pool-warning: anomaly warnings.",
    ),
    Key(
        "alert_email_pool_digest",
        STRING_LIST,
        ["observatory-digest@example.com"],
        "Addresses of observatory-pool-digest, which sends one digest mail per notification.",
    ),
    Key(
        "alert_rule_groups_disabled",
        STRING_LIST,
        [],
        'Names of alert rule groups not to provision, e.g. ["model_alerts"].',
    ),
)


@dataclass(frozen=True)
class Rule:
    """One Grafana alert rule: a PromQL query A, and a threshold C on it.

    + uid: stable and unique across every rule file (at most 40 characters)
    + title: the alert name
    + expr: PromQL whose value the threshold tests
    + evaluator: Grafana threshold type (gt, lt, within_range) and its parameters
    + pending: how long the condition must hold before the alert fires (``for``)
    + labels: severity and category or component; routing reads them
    + summary: the summary annotation
    + no_data: state when the query returns nothing: OK, or Alerting where silence means down
    + datasource: the datasource uid the query goes to
    """

    uid: str
    title: str
    expr: str
    evaluator: tuple[str, tuple[float, ...]]
    pending: str
    labels: dict[str, str]
    summary: str
    no_data: str = "OK"
    datasource: str = PROMETHEUS


@dataclass(frozen=True)
class RuleGroup:
    name: str
    folder: str
    interval: str
    rules: tuple[Rule, ...] = field(default=())


def _labels(severity: str, **more: str) -> dict[str, str]:
    return {"severity": severity, **more}


def gt(value: float) -> tuple[str, tuple[float, ...]]:
    return ("gt", (value,))


def lt(value: float) -> tuple[str, tuple[float, ...]]:
    return ("lt", (value,))


def between(low: float, high: float) -> tuple[str, tuple[float, ...]]:
    return ("within_range", (low, high))


# Request rate against its weekly baseline (recording rules in templates/prometheus/rules).
TRAFFIC_RATIO = "traffic:requests_per_second:rate5m / traffic:requests_per_second:rate7d"
REDIS_MEMORY_PERCENT = "100 * redis_memory_used_bytes / (redis_memory_max_bytes > 0)"
REDIS_HIT_PERCENT = (
    "100 * rate(redis_keyspace_hits_total[5m]) "
    "/ (rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m]))"
)


def _burn_rate(window: str) -> str:
    """How fast 5xx answers spend the 0.1% error budget of a 99.9% availability SLO."""
    return (
        f'(sum(rate(http_requests_total{{status_code=~"5.."}}[{window}])) '
        f"/ sum(rate(http_requests_total[{window}]))) / 0.001"
    )


ABNORMAL = "Abnormal Behavior"

GROUPS: tuple[RuleGroup, ...] = (
    RuleGroup(
        "traffic_anomalies",
        ABNORMAL,
        "1m",
        (
            Rule(
                "gatewayz-traffic-spike-critical",
                "TrafficSpikeCritical",
                TRAFFIC_RATIO,
                gt(3),
                "10m",
                _labels("critical", category="traffic_spike"),
                "Request rate is more than 3x its 7-day average",
                datasource=MIMIR,
            ),
            Rule(
                "gatewayz-traffic-spike-warning",
                "TrafficSpikeWarning",
                TRAFFIC_RATIO,
                between(2, 3),
                "10m",
                _labels("warning", category="traffic_spike"),
                "Request rate is 2-3x its 7-day average",
                datasource=MIMIR,
            ),
            Rule(
                "gatewayz-traffic-drop",
                "TrafficDrop",
                f"({TRAFFIC_RATIO}) and on () (traffic:requests_per_second:rate7d > 0.1)",
                lt(0.5),
                "15m",
                _labels("warning", category="traffic_drop"),
                "Request rate is below half its 7-day average",
                datasource=MIMIR,
            ),
        ),
    ),
    RuleGroup(
        "error_rate_anomalies",
        ABNORMAL,
        "1m",
        (
            Rule(
                "gatewayz-error-rate-critical",
                "ErrorRateSpikeCritical",
                "errors:5xx:percentage",
                gt(10),
                "5m",
                _labels("critical", category="error_rate_spike"),
                "More than 10% of requests end in 5xx",
            ),
            Rule(
                "gatewayz-error-rate-warning",
                "ErrorRateSpikeWarning",
                "errors:5xx:percentage",
                between(5, 10),
                "5m",
                _labels("warning", category="error_rate_spike"),
                "5-10% of requests end in 5xx",
            ),
            # Unhandled exceptions, counted by the API middleware (the fastapi_* family).
            Rule(
                "gatewayz-server-errors",
                "ServerErrors",
                "100 * sum(rate(fastapi_exceptions_total[5m])) / "
                "sum(rate(fastapi_requests_total[5m]))",
                gt(5),
                "3m",
                _labels("critical", category="server_errors"),
                "More than 5% of requests raise an unhandled exception",
            ),
        ),
    ),
    RuleGroup(
        "latency_anomalies",
        ABNORMAL,
        "1m",
        (
            Rule(
                "gatewayz-latency-p95-critical",
                "LatencyP95Critical",
                "latency:p95:seconds",
                gt(5),
                "10m",
                _labels("critical", category="latency_anomaly"),
                "Request p95 latency is above 5s",
            ),
            Rule(
                "gatewayz-latency-p95-warning",
                "LatencyP95Warning",
                "latency:p95:seconds",
                between(2, 5),
                "10m",
                _labels("warning", category="latency_anomaly"),
                "Request p95 latency is between 2s and 5s",
            ),
            Rule(
                "gatewayz-latency-p99-critical",
                "LatencyP99Critical",
                "latency:p99:seconds",
                gt(10),
                "5m",
                _labels("critical", category="latency_anomaly"),
                "Request p99 latency is above 10s",
            ),
            Rule(
                "gatewayz-ttfc-p95-warning",
                "TimeToFirstChunkSlow",
                "histogram_quantile(0.95, sum by (le) "
                "(rate(time_to_first_chunk_seconds_bucket[5m])))",
                gt(3),
                "10m",
                _labels("warning", category="latency_anomaly"),
                "Streaming time-to-first-chunk p95 is above 3s",
            ),
        ),
    ),
    RuleGroup(
        "availability_anomalies",
        ABNORMAL,
        "1m",
        (
            Rule(
                "gatewayz-provider-avail-critical",
                "ProviderAvailabilityCritical",
                "availability:provider:percentage",
                lt(90),
                "5m",
                _labels("critical", category="availability_drop"),
                "Provider {{ $labels.provider }} is available less than 90% of the time",
            ),
            Rule(
                "gatewayz-provider-avail-warning",
                "ProviderAvailabilityWarning",
                "availability:provider:percentage",
                lt(95),
                "10m",
                _labels("warning", category="availability_drop"),
                "Provider {{ $labels.provider }} is available less than 95% of the time",
            ),
            Rule(
                "gatewayz-system-availability",
                "SystemAvailabilityLow",
                "availability:system:percentage",
                lt(95),
                "5m",
                _labels("critical", category="availability_drop"),
                "Fewer than 95% of requests are answered without a 5xx",
            ),
            Rule(
                "gatewayz-circuit-breaker-open",
                "CircuitBreakerOpen",
                'max by (provider) (circuit_breaker_state{state="open"})',
                gt(0),
                "2m",
                _labels("critical", category="circuit_breaker"),
                "The circuit breaker for {{ $labels.provider }} is open",
            ),
            Rule(
                "gatewayz-backend-down",
                "BackendDown",
                'min(up{job="gatewayz_production"})',
                lt(1),
                "2m",
                _labels("critical", category="availability_drop"),
                "The GatewayZ API is not answering scrapes",
                no_data="Alerting",
            ),
            Rule(
                "gatewayz-multi-provider-degraded",
                "MultiProviderDegradation",
                "count(availability:provider:percentage < 95)",
                gt(2),
                "5m",
                _labels("critical", category="multi_provider_degradation"),
                "Three or more providers are below 95% availability",
            ),
        ),
    ),
    RuleGroup(
        "redis_alerts",
        "Redis Alerts",
        "30s",
        (
            Rule(
                "gatewayz-redis-down",
                "RedisDown",
                "min(redis_up)",
                lt(1),
                "1m",
                _labels("critical", component="redis"),
                "Redis is unreachable",
                no_data="Alerting",
            ),
            Rule(
                "gatewayz-redis-memory-warning",
                "RedisMemoryHigh",
                REDIS_MEMORY_PERCENT,
                gt(80),
                "5m",
                _labels("warning", component="redis"),
                "Redis uses more than 80% of maxmemory",
            ),
            Rule(
                "gatewayz-redis-memory-critical",
                "RedisMemoryCritical",
                REDIS_MEMORY_PERCENT,
                gt(90),
                "2m",
                _labels("critical", component="redis"),
                "Redis uses more than 90% of maxmemory",
            ),
            Rule(
                "gatewayz-redis-hit-rate-low",
                "RedisHitRateLow",
                REDIS_HIT_PERCENT,
                lt(50),
                "10m",
                _labels("warning", component="redis"),
                "Fewer than half of Redis lookups hit",
            ),
            Rule(
                "gatewayz-redis-clients-high",
                "RedisTooManyClients",
                "redis_connected_clients",
                gt(100),
                "5m",
                _labels("warning", component="redis"),
                "More than 100 clients are connected to Redis",
            ),
        ),
    ),
    RuleGroup(
        "slo_burn_rate_alerts",
        "SLO Alerts",
        "1m",
        (
            # Multi-window burn rates: both windows must agree, so a brief blip does not page.
            Rule(
                "gatewayz-slo-fast-burn",
                "SLOFastBurn",
                f"({_burn_rate('5m')} > 14) and ({_burn_rate('1h')} > 14)",
                gt(14),
                "5m",
                _labels("critical", component="slo"),
                "The 99.9% availability error budget burns more than 14x too fast (5m and 1h)",
            ),
            Rule(
                "gatewayz-slo-slow-burn",
                "SLOSlowBurn",
                f"({_burn_rate('30m')} > 6) and ({_burn_rate('6h')} > 6)",
                gt(6),
                "30m",
                _labels("warning", component="slo"),
                "The 99.9% availability error budget burns more than 6x too fast (30m and 6h)",
            ),
            Rule(
                "gatewayz-slo-latency",
                "SLOLatencyP95",
                "latency:p95:seconds",
                gt(1),
                "10m",
                _labels("warning", component="slo"),
                "Request p95 latency is above the 1s SLO",
            ),
        ),
    ),
    RuleGroup(
        "backend_alerts",
        "Backend Alerts",
        "1m",
        (
            Rule(
                "gatewayz-backend-health-low",
                "BackendHealthScoreLow",
                "avg(health_score)",
                lt(80),
                "5m",
                _labels("warning", category="backend"),
                "The average model health score is below 80",
            ),
            Rule(
                "gatewayz-backend-breaker-open",
                "BackendCircuitBreakerOpen",
                'max by (provider) (circuit_breaker_state{state="open"})',
                gt(0),
                "0s",
                _labels("critical", category="backend"),
                "The circuit breaker for {{ $labels.provider }} is open",
            ),
            Rule(
                "gatewayz-backend-error-rate",
                "BackendErrorRateHigh",
                "errors:rate:percentage",
                gt(5),
                "5m",
                _labels("warning", category="backend"),
                "More than 5% of requests end in 4xx or 5xx",
            ),
            Rule(
                "gatewayz-backend-provider-avail",
                "BackendProviderAvailabilityLow",
                "availability:provider:percentage",
                lt(95),
                "10m",
                _labels("warning", category="backend"),
                "Provider {{ $labels.provider }} is available less than 95% of the time",
            ),
        ),
    ),
    # The model health gauges are reported per model as percentages (0-100) and, for
    # avg_latency, milliseconds.
    RuleGroup(
        "model_alerts",
        "Model Alerts",
        "1m",
        (
            Rule(
                "gatewayz-model-health-low",
                "ModelHealthScoreLow",
                "health_score",
                lt(80),
                "5m",
                _labels("warning", category="model"),
                "Model {{ $labels.model_name }} has a health score below 80",
            ),
            Rule(
                "gatewayz-model-error-rate",
                "ModelErrorRateHigh",
                "error_rate",
                gt(5),
                "5m",
                _labels("warning", category="model"),
                "Model {{ $labels.model_name }} fails more than 5% of requests",
            ),
            Rule(
                "gatewayz-model-latency-high",
                "ModelLatencyHigh",
                "avg_latency",
                gt(500),
                "10m",
                _labels("warning", category="model"),
                "Model {{ $labels.model_name }} averages more than 500ms per request",
            ),
            Rule(
                "gatewayz-model-success-low",
                "ModelSuccessRateLow",
                "success_rate",
                lt(95),
                "5m",
                _labels("warning", category="model"),
                "Model {{ $labels.model_name }} succeeds on fewer than 95% of requests",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Route:
    """One notification policy: every matcher must hold; the first matching route wins."""

    receiver: str
    matchers: tuple[tuple[str, str, str], ...]
    timing: tuple[str, str, str] | None = None  # group_wait, group_interval, repeat_interval
    group_by: tuple[str, ...] | None = None


ROOT_RECEIVER = "ops-email"
ROOT_GROUP_BY = ("alertname", "instance")


def _is(label: str, value: str) -> tuple[str, str, str]:
    return (label, "=", value)


def _one_of(label: str, *values: str) -> tuple[str, str, str]:
    return (label, "=~", "|".join(values))


CRITICAL = _is("severity", "critical")
POOL_CRITICAL = "observatory-pool-critical"
POOL_WARNING = "observatory-pool-warning"

# Each specific route sits before the broader one that would otherwise catch its alerts, so
# every route can be reached; the catch-all "any other critical" comes after the categories
# and components that route critical alerts elsewhere.
ROUTES: tuple[Route, ...] = (
    Route(POOL_CRITICAL, (_is("category", "traffic_spike"), CRITICAL), ("10s", "5m", "15m")),
    Route(
        POOL_WARNING, (_one_of("category", "traffic_spike", "traffic_drop"),), ("30s", "10m", "1h")
    ),
    Route(POOL_CRITICAL, (_is("category", "error_rate_spike"), CRITICAL), ("0s", "3m", "15m")),
    Route(POOL_WARNING, (_is("category", "error_rate_spike"),), ("30s", "5m", "30m")),
    Route(POOL_CRITICAL, (_is("category", "server_errors"),), ("0s", "2m", "15m")),
    Route(POOL_CRITICAL, (_is("category", "latency_anomaly"), CRITICAL)),
    Route(POOL_WARNING, (_is("category", "latency_anomaly"),)),
    Route(
        POOL_CRITICAL,
        (_is("category", "availability_drop"), CRITICAL),
        group_by=(*ROOT_GROUP_BY, "provider"),
    ),
    Route(POOL_WARNING, (_is("category", "availability_drop"),)),
    Route(POOL_CRITICAL, (_one_of("category", "circuit_breaker", "multi_provider_degradation"),)),
    Route("critical-email", (_is("component", "redis"), CRITICAL), ("0s", "2m", "15m")),
    Route("ops-email", (_is("component", "redis"),)),
    Route("critical-email", (_is("component", "slo"), CRITICAL)),
    Route("ops-email", (_is("component", "slo"),)),
    Route("critical-email", (CRITICAL,), ("0s", "5m", "15m")),
    Route("ops-email", (_one_of("category", "model", "backend"),), ("5m", "5m", "30m")),
)


def _dump(document: dict[str, Any]) -> bytes:
    text = yaml.safe_dump(document, sort_keys=True, default_flow_style=False, width=1000)
    return f"# {HEADER}\n{text}".encode()


def _rule(rule: Rule) -> dict[str, Any]:
    kind, params = rule.evaluator
    return {
        "uid": rule.uid,
        "title": rule.title,
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 600, "to": 0},
                "datasourceUid": rule.datasource,
                "model": {
                    "refId": "A",
                    "expr": rule.expr,
                    "instant": True,
                    "range": False,
                    "intervalMs": 1000,
                    "maxDataPoints": 43200,
                },
            },
            {
                "refId": "C",
                "relativeTimeRange": {"from": 0, "to": 0},
                "datasourceUid": EXPRESSIONS,
                "model": {
                    "refId": "C",
                    "type": "threshold",
                    "expression": "A",
                    "conditions": [{"evaluator": {"type": kind, "params": list(params)}}],
                },
            },
        ],
        "noDataState": rule.no_data,
        "execErrState": "Error",
        "for": rule.pending,
        "labels": dict(rule.labels),
        "annotations": {"summary": rule.summary},
        "isPaused": False,
    }


def _enabled_groups(data: dict[str, Any]) -> list[RuleGroup]:
    disabled = list(data.get("alert_rule_groups_disabled") or [])
    known = {group.name for group in GROUPS}
    unknown = sorted(set(disabled) - known)
    if unknown:
        raise DataError(
            f"alert_rule_groups_disabled: {unknown[0]}: no such rule group; "
            f"known: {', '.join(sorted(known))}"
        )
    return [group for group in GROUPS if group.name not in disabled]


def _addresses(data: dict[str, Any], key: str) -> list[str]:
    default = next(k.default for k in KEYS if k.name == key)
    addresses = list(data.get(key, default))
    if not addresses:
        raise DataError(f"{key}: a contact point needs at least one address")
    return addresses


def _policy(route: Route) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "receiver": route.receiver,
        "object_matchers": [list(matcher) for matcher in route.matchers],
    }
    if route.group_by:
        policy["group_by"] = list(route.group_by)
    if route.timing:
        policy["group_wait"], policy["group_interval"], policy["repeat_interval"] = route.timing
    return policy


def render_alerting(data: dict[str, Any]) -> dict[str, bytes]:
    """The alerting provisioning files, as ``{file name: YAML bytes}``.

    + data: the host's data; reads the keys in :data:`KEYS`

    Rule groups named in ``alert_rule_groups_disabled`` are left out, and their rules are
    listed under ``deleteRules``: Grafana deletes a provisioned rule only when told to.

    Example: ``render_alerting(data={"alert_email_ops": ["ops@example.org"]})``
    """
    groups = [
        {
            "orgId": ORG_ID,
            "name": group.name,
            "folder": group.folder,
            "interval": group.interval,
            "rules": [_rule(rule) for rule in group.rules],
        }
        for group in _enabled_groups(data)
    ]
    contact_points = [
        {
            "orgId": ORG_ID,
            "name": name,
            "receivers": [
                {
                    "uid": f"gatewayz-{name}",
                    "type": "email",
                    "disableResolveMessage": False,
                    "settings": {
                        "addresses": ";".join(_addresses(data, key)),
                        "singleEmail": digest,
                    },
                }
            ],
        }
        for name, (key, digest) in CONTACT_POINTS.items()
    ]
    policies = [
        {
            "orgId": ORG_ID,
            "receiver": ROOT_RECEIVER,
            "group_by": list(ROOT_GROUP_BY),
            "routes": [_policy(route) for route in ROUTES],
        }
    ]
    enabled = {group.name for group in _enabled_groups(data)}
    deleted = [
        {"orgId": ORG_ID, "uid": rule.uid}
        for group in GROUPS
        if group.name not in enabled
        for rule in group.rules
    ]
    rules_document: dict[str, Any] = {"apiVersion": 1, "groups": groups}
    if deleted:
        rules_document["deleteRules"] = deleted
    return {
        "rules.yaml": _dump(rules_document),
        "contact-points.yaml": _dump({"apiVersion": 1, "contactPoints": contact_points}),
        "policies.yaml": _dump({"apiVersion": 1, "policies": policies}),
    }


def routes_as_alertmanager(data: dict[str, Any]) -> dict[str, Any]:
    """The notification policy tree as an Alertmanager config (``route:`` and ``receivers:``).

    Grafana's notification policies are Alertmanager routes; this renders the same tree for
    ``amtool config routes test``. Receivers carry no integration, only their names.
    """
    del data  # addresses do not affect routing; the argument keeps the two renderers alike

    def matcher(label: str, op: str, value: str) -> str:
        return f"{label}{op}{json.dumps(value)}"

    routes = []
    for route in ROUTES:
        entry: dict[str, Any] = {
            "receiver": route.receiver,
            "matchers": [matcher(*m) for m in route.matchers],
        }
        if route.group_by:
            entry["group_by"] = list(route.group_by)
        if route.timing:
            entry["group_wait"], entry["group_interval"], entry["repeat_interval"] = route.timing
        routes.append(entry)
    return {
        "route": {"receiver": ROOT_RECEIVER, "group_by": list(ROOT_GROUP_BY), "routes": routes},
        "receivers": [{"name": name} for name in CONTACT_POINTS],
    }
