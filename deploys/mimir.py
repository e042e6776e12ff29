"""Grafana Mimir, monolithic (``target: all``) with filesystem storage: the long-term
store Prometheus and Tempo's metrics generator remote-write to. No reload: a config
change restarts it."""

from __future__ import annotations

from deploys.artifacts import Artifact
from deploys.components import BuildContext, Component, single_binary_service
from deploys.service import ServiceSpec
from deploys.settings import DURATION, PORT, POSITIVE, VERSION, Key

NAME = "mimir"
DATA = "/var/lib/mimir"

KEYS = (
    Key("mimir_version", VERSION, "2.11.0", "Mimir release; must have a lock entry."),
    Key("mimir_http_port", PORT, 9009, "server.http_listen_port."),
    Key("mimir_grpc_port", PORT, 9095, "server.grpc_listen_port."),
    Key("mimir_memberlist_port", PORT, 7946, "memberlist.bind_port (the hash rings' gossip)."),
    Key("mimir_retention", DURATION, "720h", "limits.compactor_blocks_retention_period."),
    Key("mimir_max_query_lookback", DURATION, "720h", "limits.max_query_lookback."),
    Key("mimir_ingestion_rate", POSITIVE, 50000, "limits.ingestion_rate (samples/s per tenant)."),
    Key("mimir_ingestion_burst_size", POSITIVE, 100000, "limits.ingestion_burst_size."),
    Key("mimir_max_global_series_per_user", POSITIVE, 500000, "limits.max_global_series_per_user."),
    Key(
        "mimir_max_global_series_per_metric",
        POSITIVE,
        50000,
        "limits.max_global_series_per_metric.",
    ),
    Key("mimir_max_query_parallelism", POSITIVE, 32, "limits.max_query_parallelism."),
    Key("mimir_querier_max_concurrent", POSITIVE, 20, "querier.max_concurrent."),
)


def build(ctx: BuildContext) -> ServiceSpec:
    nodes = ctx.topology.of(NAME)
    clustered = len(nodes) > 1
    members = [f"{node.address}:{node.settings['mimir_memberlist_port']}" for node in nodes]
    me = next((n for n in nodes if n.name == ctx.host_name), None)
    config = ctx.render(
        "mimir/mimir.yaml.j2",
        data_dir=DATA,
        ring_address=me.address if clustered and me else "127.0.0.1",
        join_members=members if clustered else [],
        replication_factor=min(3, len(nodes)) if clustered else 1,
    )
    return single_binary_service(
        ctx,
        NAME,
        "Grafana Mimir: long-term metrics storage",
        "https://grafana.com/docs/mimir/latest/",
        config,
        # A strict parse and validation that opens no port.
        check_flags="-modules",
        ready_port=ctx.data["mimir_http_port"],
    )


COMPONENT = Component(
    name=NAME,
    keys=KEYS,
    artifact=Artifact(
        component=NAME,
        url="https://github.com/grafana/mimir/releases/download/mimir-{version}/mimir-linux-{arch}",
        checksums="https://github.com/grafana/mimir/releases/download/mimir-{version}/"
        "mimir-linux-{arch}-sha-256",
        layout="binary",
        members={"mimir": "mimir-linux-{arch}"},
        checked=("mimir",),
    ),
    version_key="mimir_version",
    port_keys=("mimir_http_port", "mimir_grpc_port", "mimir_memberlist_port"),
    build=build,
)
