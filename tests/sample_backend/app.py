"""A stand-in for the GatewayZ backend: only its Prometheus metrics, with moving values.

Serves `/metrics` on 0.0.0.0:8000 (override with SAMPLE_BACKEND_ADDRESS and SAMPLE_BACKEND_PORT)
so that a test Prometheus has a `gatewayz_production` target to scrape. Every second it records a
few made-up requests and inference calls, so counters grow and histograms fill between scrapes.
Uses only the standard library and prometheus_client (Debian's python3-prometheus-client).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

from prometheus_client import Counter, Histogram, start_http_server

ENDPOINTS = ("/v1/chat/completions", "/v1/models", "/health", "/v1/images/generations")
METHODS = {
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

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests handled, by method, endpoint and status code.",
    ["method", "endpoint", "status_code"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time spent handling an HTTP request, by method and endpoint.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
MODEL_INFERENCE_REQUESTS = Counter(
    "model_inference_requests_total",
    "Inference requests sent to model providers, by provider, model and outcome.",
    ["provider", "model", "status"],
)


def record_traffic(generator: random.Random) -> None:
    """Record one second's worth of made-up traffic."""
    for _ in range(generator.randint(1, 8)):
        endpoint = generator.choice(ENDPOINTS)
        method = METHODS[endpoint]
        status_code = generator.choices(("200", "400", "429", "500"), (90, 4, 4, 2))[0]
        HTTP_REQUESTS.labels(method, endpoint, status_code).inc()
        HTTP_REQUEST_DURATION.labels(method, endpoint).observe(generator.lognormvariate(-2.5, 1.0))

        if endpoint == "/v1/chat/completions":
            provider = generator.choice(sorted(PROVIDERS))
            model = generator.choice(PROVIDERS[provider])
            status = "success" if status_code == "200" else "error"
            MODEL_INFERENCE_REQUESTS.labels(provider, model, status).inc()


def main() -> None:
    address = os.environ.get("SAMPLE_BACKEND_ADDRESS", "0.0.0.0")
    port = int(os.environ.get("SAMPLE_BACKEND_PORT", "8000"))
    start_http_server(port, addr=address)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # Seeded per process so a restart is visible as a different series of values.
    generator = random.Random(time.time_ns())
    while not stop.is_set():
        record_traffic(generator)
        stop.wait(1.0)


if __name__ == "__main__":
    main()
