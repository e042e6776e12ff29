"""Grafana Loki, single binary with a TSDB index and filesystem storage: the
application's logs. Retention is applied by the compactor. No reload."""

from __future__ import annotations

from deploys.artifacts import Artifact
from deploys.components import BuildContext, Component, single_binary_service
from deploys.service import ServiceSpec
from deploys.settings import DATE, DURATION, PORT, POSITIVE, VERSION, Key

NAME = "loki"
DATA = "/var/lib/loki"

KEYS = (
    Key("loki_version", VERSION, "3.4.2", "Loki release; must have a lock entry."),
    Key("loki_http_port", PORT, 3100, "server.http_listen_port."),
    # Upstream's default 9095 is Mimir's gRPC port; both run on one host in dev.
    Key("loki_grpc_port", PORT, 9096, "server.grpc_listen_port."),
    Key("loki_retention", DURATION, "720h", "limits_config.retention_period (30 days)."),
    Key(
        "loki_reject_old_samples_max_age",
        DURATION,
        "168h",
        "limits_config.reject_old_samples_max_age.",
    ),
    Key("loki_ingestion_rate_mb", POSITIVE, 10, "limits_config.ingestion_rate_mb."),
    Key("loki_ingestion_burst_size_mb", POSITIVE, 20, "limits_config.ingestion_burst_size_mb."),
    Key(
        "loki_max_global_streams_per_user",
        POSITIVE,
        10000,
        "limits_config.max_global_streams_per_user.",
    ),
    Key(
        "loki_schema_from",
        DATE,
        "2024-01-01",
        "schema_config.configs[0].from: first day of the v13 TSDB schema; never change it "
        "once data exists.",
    ),
)

GRPC_MESSAGE_SIZE = 16 * 1024 * 1024


def build(ctx: BuildContext) -> ServiceSpec:
    config = ctx.render("loki/loki.yaml.j2", data_dir=DATA, grpc_message_size=GRPC_MESSAGE_SIZE)
    return single_binary_service(
        ctx,
        NAME,
        "Grafana Loki: log storage",
        "https://grafana.com/docs/loki/latest/",
        config,
        check_flags="-verify-config",
        ready_port=ctx.data["loki_http_port"],
    )


COMPONENT = Component(
    name=NAME,
    keys=KEYS,
    artifact=Artifact(
        component=NAME,
        url="https://github.com/grafana/loki/releases/download/v{version}/loki-linux-{arch}.zip",
        checksums="https://github.com/grafana/loki/releases/download/v{version}/SHA256SUMS",
        layout="zip",
        members={"loki": "loki-linux-{arch}"},
        checked=("loki",),
    ),
    version_key="loki_version",
    port_keys=("loki_http_port", "loki_grpc_port"),
    build=build,
)
