"""Grafana Tempo, single binary with local storage: traces over OTLP, and a metrics
generator that turns spans into span metrics and service graphs in Mimir. No reload."""

from __future__ import annotations

from deploys.artifacts import Artifact
from deploys.components import BuildContext, Component, single_binary_service
from deploys.service import ServiceSpec
from deploys.settings import DURATION, NUMBER_LIST, PORT, STRING_LIST, VERSION, Key

NAME = "tempo"
DATA = "/var/lib/tempo"

KEYS = (
    Key("tempo_version", VERSION, "2.6.1", "Tempo release; must have a lock entry."),
    Key("tempo_http_port", PORT, 3200, "server.http_listen_port."),
    # Upstream's default 9095 is Mimir's gRPC port; both run on one host in dev.
    Key("tempo_grpc_port", PORT, 9097, "server.grpc_listen_port."),
    Key("tempo_memberlist_port", PORT, 7947, "memberlist.bind_port (7946 is Mimir's)."),
    Key("tempo_otlp_grpc_port", PORT, 4317, "OTLP gRPC receiver port, on all interfaces."),
    Key("tempo_otlp_http_port", PORT, 4318, "OTLP HTTP receiver port, on all interfaces."),
    Key("tempo_block_retention", DURATION, "168h", "compactor.compaction.block_retention."),
    Key(
        "tempo_span_metrics_dimensions",
        STRING_LIST,
        ["gen_ai.request.model", "gen_ai.system", "ai.provider", "ai.model_id", "http.status_code"],
        "Span attributes added as span-metric labels (service and span name are always "
        "there). customer.id is left out on purpose: it is high cardinality.",
    ),
    Key(
        "tempo_service_graph_dimensions",
        STRING_LIST,
        ["service.name", "gen_ai.system"],
        "metrics_generator.processor.service_graphs.dimensions.",
    ),
    Key(
        "tempo_span_metrics_buckets",
        NUMBER_LIST,
        [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        "Span-metric histogram buckets in seconds.",
    ),
    Key("tempo_search_duration_slo", DURATION, "5s", "query_frontend.search.duration_slo."),
)


def build(ctx: BuildContext) -> ServiceSpec:
    here = ctx.host_name
    remote_write = ctx.topology.first_url("mimir", "mimir_http_port", here, "/api/v1/push")
    config = ctx.render("tempo/tempo.yaml.j2", data_dir=DATA, remote_write_url=remote_write)
    return single_binary_service(
        ctx,
        NAME,
        "Grafana Tempo: traces and span metrics",
        "https://grafana.com/docs/tempo/latest/",
        config,
        # `=true` is needed: the bare flag is not read as a boolean by Tempo.
        check_flags="-config.verify=true",
        ready_port=ctx.data["tempo_http_port"],
    )


COMPONENT = Component(
    name=NAME,
    keys=KEYS,
    artifact=Artifact(
        component=NAME,
        url="https://github.com/grafana/tempo/releases/download/v{version}/"
        "tempo_{version}_linux_{arch}.tar.gz",
        checksums="https://github.com/grafana/tempo/releases/download/v{version}/SHA256SUMS",
        layout="tar.gz",
        members={"tempo": "tempo"},
        checked=("tempo",),
    ),
    version_key="tempo_version",
    port_keys=(
        "tempo_http_port",
        "tempo_grpc_port",
        "tempo_memberlist_port",
        "tempo_otlp_grpc_port",
        "tempo_otlp_http_port",
    ),
    build=build,
)
