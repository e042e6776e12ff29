"""A sample GatewayZ backend, for tests and the demo: made-up traffic, real telemetry.

It is not the GatewayZ API. Every second it invents a few requests and inference calls and
records them the way the real backend does (STACK.md section 7):

- every metric of the metrics contract on ``/metrics`` (prometheus_client), and a small
  hand-written ``/prometheus/data/metrics`` route that sends no Content-Type, like the
  original's, so Prometheus 3 needs its fallback scrape protocol;
- logfmt log lines with ``level``, ``error_type`` on errors and ``trace_id=<hex>``, pushed
  to Loki's push API (``SAMPLE_BACKEND_LOKI``, default http://127.0.0.1:3100);
- OTLP/HTTP JSON spans with the section-7 attributes, sent to Tempo
  (``SAMPLE_BACKEND_OTLP``, default http://127.0.0.1:4318).

A push that fails is counted and retried with the next batch; the app keeps serving.
Uses only the standard library and prometheus_client (Debian's python3-prometheus-client).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

ENDPOINTS = {
    "/v1/chat/completions": "POST",
    "/v1/models": "GET",
    "/health": "GET",
    "/v1/images/generations": "POST",
}
PROVIDERS = {
    "openrouter": ("openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet"),
    "featherless": ("meta-llama/Llama-3.1-8B-Instruct",),
    "fireworks": ("accounts/fireworks/models/deepseek-v3",),
}
FREE_MODELS = ("meta-llama/Llama-3.1-8B-Instruct",)
CACHES = ("models", "providers", "responses")
TABLES = ("users", "api_keys", "usage")
STAGES = ("auth", "routing", "inference", "billing")
ERROR_TYPES = ("RateLimitError", "ProviderTimeout", "ValidationError")

registry = CollectorRegistry()


def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
    return Counter(name, doc, labels, registry=registry)


def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, doc, labels, registry=registry)


def histogram(name: str, doc: str, labels: tuple[str, ...] = (), buckets=None) -> Histogram:
    extra = {"buckets": buckets} if buckets else {}
    return Histogram(name, doc, labels, registry=registry, **extra)


HTTP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
INFERENCE_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 25, 60)

http_requests = counter("http_requests", "HTTP requests.", ("method", "endpoint", "status_code"))
http_duration = histogram(
    "http_request_duration_seconds", "HTTP request time.", ("method", "endpoint"), HTTP_BUCKETS
)
fastapi_requests = counter(
    "fastapi_requests", "Requests (middleware).", ("method", "path", "status_code")
)
fastapi_duration = histogram(
    "fastapi_requests_duration_seconds", "Request time (middleware).", ("path",), HTTP_BUCKETS
)
fastapi_in_progress = gauge("fastapi_requests_in_progress", "Requests in flight.")
fastapi_exceptions = counter("fastapi_exceptions", "Unhandled exceptions.", ("exception_type",))
fastapi_request_size = histogram(
    "fastapi_request_size_bytes", "Request body size.", buckets=(100, 1000, 10000, 100000)
)
fastapi_response_size = histogram(
    "fastapi_response_size_bytes", "Response body size.", buckets=(100, 1000, 10000, 100000)
)
inference_requests = counter(
    "model_inference_requests", "Inference requests.", ("provider", "model", "status")
)
inference_duration = histogram(
    "model_inference_duration_seconds", "Inference time.", ("provider", "model"), INFERENCE_BUCKETS
)
tokens_used = counter("tokens_used", "Tokens.", ("provider", "model", "token_type"))
credits_used = counter("credits_used", "Credits.", ("provider", "model"))
free_model_usage = counter("free_model_usage", "Free-model requests.", ("model",))
provider_availability = gauge(
    "provider_availability", "Provider up (1) or down (0).", ("provider",)
)
provider_error_rate = gauge("provider_error_rate", "Provider error share.", ("provider",))
provider_response_time = histogram(
    "provider_response_time_seconds", "Provider answer time.", ("provider",), INFERENCE_BUCKETS
)
circuit_breaker_state = gauge(
    "circuit_breaker_state", "Breaker state (1 = current).", ("provider", "state")
)
breaker_transitions = counter(
    "circuit_breaker_state_transitions",
    "Breaker transitions.",
    ("provider", "from_state", "to_state"),
)
health_score = gauge("health_score", "Model health 0-100.", ("model_id", "model_name"))
error_rate = gauge("error_rate", "Model error rate in percent.", ("model_id", "model_name"))
avg_latency = gauge("avg_latency", "Model average latency in ms.", ("model_id", "model_name"))
success_rate = gauge("success_rate", "Model success rate in percent.", ("model_id", "model_name"))
cache_hits = counter("cache_hits", "Cache hits.", ("cache_name",))
cache_misses = counter("cache_misses", "Cache misses.", ("cache_name",))
cache_size = gauge("cache_size_bytes", "Cache size.")
catalog_hits = counter("catalog_cache_hits", "Catalog cache hits.", ("gateway",))
catalog_misses = counter("catalog_cache_misses", "Catalog cache misses.", ("gateway",))
database_queries = counter("database_queries", "Database queries.", ("table", "operation"))
database_duration = histogram("database_query_duration_seconds", "Query time.", ("table",))
backend_ttfb = histogram("backend_ttfb_seconds", "Time to first byte.")
first_chunk = histogram("time_to_first_chunk_seconds", "Time to first streamed chunk.")
streaming = histogram("streaming_duration_seconds", "Streaming time.")
stage_duration = histogram("request_stage_duration_seconds", "Time per stage.", ("stage",))
api_cost = counter("api_cost", "Cost in dollars.", ("provider",))
gateway_health = gauge("gateway_health_status", "Gateway healthy (1) or not (0).")
model_availability = gauge("model_availability", "Model available (1) or not (0).", ("model",))

data_registry = CollectorRegistry()
data_rows = Gauge(
    "gatewayz_data_rows", "Rows per table (data metrics route).", ("table",), registry=data_registry
)

pending_logs: list[tuple[str, str, str]] = []
pending_spans: list[dict] = []
lock = threading.Lock()
pushes_failed = counter(
    "sample_backend_pushes_failed", "Log or span pushes that failed.", ("target",)
)


def create_every_series() -> None:
    """A labelled counter has no series until its labels are first used; create them all
    at start, so that every metric of the contract is there from the first scrape."""
    for provider, models in PROVIDERS.items():
        catalog_hits.labels(provider)
        catalog_misses.labels(provider)
        for from_state, to_state in (
            ("closed", "open"),
            ("open", "half_open"),
            ("half_open", "closed"),
        ):
            breaker_transitions.labels(provider, from_state, to_state)
        for model in models:
            for outcome in ("success", "error"):
                inference_requests.labels(provider, model, outcome)
    for model in FREE_MODELS:
        free_model_usage.labels(model)
    for error_type in ERROR_TYPES:
        fastapi_exceptions.labels(error_type)
    for cache in CACHES:
        cache_hits.labels(cache)
        cache_misses.labels(cache)


def record(rng: random.Random) -> None:
    endpoint = rng.choice(list(ENDPOINTS))
    method = ENDPOINTS[endpoint]
    status = rng.choices(("200", "400", "429", "500"), (90, 4, 3, 3))[0]
    seconds = rng.lognormvariate(-2.0, 1.0)
    http_requests.labels(method, endpoint, status).inc()
    http_duration.labels(method, endpoint).observe(seconds)
    fastapi_requests.labels(method, endpoint, status).inc()
    fastapi_duration.labels(endpoint).observe(seconds)
    fastapi_request_size.observe(rng.randint(50, 5000))
    fastapi_response_size.observe(rng.randint(100, 50000))
    fastapi_in_progress.set(rng.randint(0, 12))
    if status == "500":
        fastapi_exceptions.labels(rng.choice(ERROR_TYPES)).inc()
    for stage in STAGES:
        stage_duration.labels(stage).observe(seconds / len(STAGES))
    backend_ttfb.observe(seconds / 3)

    provider = rng.choice(list(PROVIDERS))
    model = rng.choice(PROVIDERS[provider])
    outcome = "success" if rng.random() < 0.93 else "error"
    inference_seconds = rng.lognormvariate(0.0, 0.8)
    inference_requests.labels(provider, model, outcome).inc()
    inference_duration.labels(provider, model).observe(inference_seconds)
    provider_response_time.labels(provider).observe(inference_seconds)
    tokens_used.labels(provider, model, "input").inc(rng.randint(10, 2000))
    tokens_used.labels(provider, model, "output").inc(rng.randint(10, 800))
    credits_used.labels(provider, model).inc(rng.random() / 100)
    api_cost.labels(provider).inc(rng.random() / 50)
    if model in FREE_MODELS:
        free_model_usage.labels(model).inc()
    first_chunk.observe(inference_seconds / 4)
    streaming.observe(inference_seconds)

    cache = rng.choice(CACHES)
    (cache_hits if rng.random() < 0.8 else cache_misses).labels(cache).inc()
    (catalog_hits if rng.random() < 0.7 else catalog_misses).labels(provider).inc()
    table = rng.choice(TABLES)
    database_queries.labels(table, rng.choice(("select", "insert", "update"))).inc()
    database_duration.labels(table).observe(rng.lognormvariate(-5.0, 0.7))

    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    level = "error" if status == "500" else "info"
    line = (
        f"level={level} method={method} path={endpoint} status={status} "
        f'duration_ms={seconds * 1000:.0f} provider={provider} model="{model}" '
        f"trace_id={trace_id}"
    )
    if level == "error":
        line += f" error_type={rng.choice(ERROR_TYPES)}"
    now_ns = time.time_ns()
    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": f"{method} {endpoint}",
        "kind": 2,
        "startTimeUnixNano": str(now_ns - int(seconds * 1e9)),
        "endTimeUnixNano": str(now_ns),
        "attributes": [
            {"key": key, "value": {"stringValue": value}}
            for key, value in (
                ("gen_ai.request.model", model),
                ("gen_ai.system", provider),
                ("ai.provider", provider),
                ("ai.model_id", model),
                ("http.status_code", status),
            )
        ],
        "status": {"code": 2 if status == "500" else 1},
    }
    with lock:
        pending_logs.append((str(now_ns), level, line))
        pending_spans.append(span)


def refresh_gauges(rng: random.Random) -> None:
    for provider in PROVIDERS:
        up = 1 if rng.random() < 0.97 else 0
        provider_availability.labels(provider).set(up)
        provider_error_rate.labels(provider).set(rng.random() / 10)
        state = "closed" if up else "open"
        for each in ("closed", "open", "half_open"):
            circuit_breaker_state.labels(provider, each).set(1 if each == state else 0)
        if not up:
            breaker_transitions.labels(provider, "closed", "open").inc()
        for model in PROVIDERS[provider]:
            model_availability.labels(model).set(up)
            health_score.labels(model, model).set(rng.uniform(80, 100))
            error_rate.labels(model, model).set(rng.uniform(0, 5))
            avg_latency.labels(model, model).set(rng.uniform(100, 600))
            success_rate.labels(model, model).set(rng.uniform(95, 100))
    cache_size.set(rng.randint(10**6, 10**8))
    gateway_health.set(1)
    for table in TABLES:
        data_rows.labels(table).set(rng.randint(100, 10**6))


def post_json(url: str, body: dict, target: str) -> None:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5):
            pass
    except OSError:
        pushes_failed.labels(target).inc()


def ship(loki: str, otlp: str) -> None:
    with lock:
        logs, spans = pending_logs[:], pending_spans[:]
        pending_logs.clear()
        pending_spans.clear()
    if logs:
        streams: dict[str, list[list[str]]] = {}
        for stamp, level, line in logs:
            streams.setdefault(level, []).append([stamp, line])
        post_json(
            f"{loki}/loki/api/v1/push",
            {
                "streams": [
                    {
                        "stream": {
                            "app": "gatewayz-api",
                            "env": "dev",
                            "service": "api",
                            "level": level,
                        },
                        "values": values,
                    }
                    for level, values in sorted(streams.items())
                ]
            },
            "loki",
        )
    if spans:
        resource = {
            "attributes": [{"key": "service.name", "value": {"stringValue": "gatewayz-api"}}]
        }
        post_json(
            f"{otlp}/v1/traces",
            {
                "resourceSpans": [
                    {
                        "resource": resource,
                        "scopeSpans": [{"scope": {"name": "sample"}, "spans": spans}],
                    }
                ]
            },
            "tempo",
        )


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/metrics":
            self.answer(generate_latest(registry), CONTENT_TYPE_LATEST)
        elif self.path == "/prometheus/data/metrics":
            # Hand-written route, no Content-Type: Prometheus 3 needs its fallback protocol.
            self.answer(generate_latest(data_registry), None)
        elif self.path == "/health":
            self.answer(b'{"status": "ok"}\n', "application/json")
        else:
            self.send_error(404)

    def answer(self, body: bytes, content_type: str | None) -> None:
        self.send_response(200)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    address = os.environ.get("SAMPLE_BACKEND_ADDRESS", "0.0.0.0")
    port = int(os.environ.get("SAMPLE_BACKEND_PORT", "8000"))
    loki = os.environ.get("SAMPLE_BACKEND_LOKI", "http://127.0.0.1:3100")
    otlp = os.environ.get("SAMPLE_BACKEND_OTLP", "http://127.0.0.1:4318")
    rng = random.Random()
    create_every_series()
    refresh_gauges(rng)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"sample backend: metrics on {address}:{port}, logs to {loki}, spans to {otlp}", flush=True
    )
    tick = 0
    while not stop.is_set():
        for _ in range(rng.randint(2, 6)):
            record(rng)
        if tick % 5 == 0:
            refresh_gauges(rng)
            ship(loki, otlp)
        tick += 1
        stop.wait(1.0)
    server.shutdown()


if __name__ == "__main__":
    main()
