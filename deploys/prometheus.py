"""Prometheus: scrapes the backend, redis_exporter and the stack, evaluates the alert and
recording rules, and remote-writes everything to Mimir. Reloads on SIGHUP."""

from __future__ import annotations

from deploys.artifacts import Artifact
from deploys.components import BuildContext, Component, systemd_unit
from deploys.service import ManagedDir, ManagedFile, Probe, ServiceSpec
from deploys.settings import (
    DURATION,
    LABELS,
    PORT,
    REQUIRED,
    SECRET,
    TEXT,
    VERSION,
    Key,
    Kind,
    choice,
)

NAME = "prometheus"
CONFIG = "/etc/prometheus/prometheus.yml"
RULES_DIR = "/etc/prometheus/rules"
SECRETS_DIR = "/etc/prometheus/secrets"
TOKEN_FILE = f"{SECRETS_DIR}/backend_bearer_token"

SCRAPE_CONFIGS = Kind(
    "a list of scrape_config mappings",
    lambda v: isinstance(v, list) and all(isinstance(i, dict) and "job_name" in i for i in v),
)

KEYS = (
    Key("prometheus_version", VERSION, "3.2.1", "Prometheus release; must have a lock entry."),
    Key("prometheus_port", PORT, 9090, "--web.listen-address port."),
    Key("prometheus_retention", DURATION, "15d", "--storage.tsdb.retention.time."),
    Key("prometheus_scrape_interval", DURATION, "15s", "global.scrape_interval."),
    Key("prometheus_evaluation_interval", DURATION, "15s", "global.evaluation_interval."),
    Key(
        "prometheus_extra_scrape_configs",
        SCRAPE_CONFIGS,
        [],
        "Scrape configs of your own, appended after the stack's jobs as written.",
    ),
    Key(
        "backend_target",
        TEXT,
        REQUIRED,
        "host:port of the GatewayZ API, scraped at /metrics and /prometheus/data/metrics.",
    ),
    Key("backend_scheme", choice("http", "https"), "https", "Scheme of the backend scrapes."),
    Key(
        "backend_labels",
        LABELS,
        {"env": "production"},
        "Constant labels on the backend jobs (dashboards filter on env).",
    ),
    Key(
        "backend_bearer_token",
        SECRET,
        None,
        "Bearer token for the backend's metrics endpoints (secret).",
        secret=True,
    ),
)


def _scrape_context(ctx: BuildContext) -> dict[str, object]:
    topology, here = ctx.topology, ctx.host_name
    remote_write = topology.first_url("mimir", "mimir_http_port", here, "/api/v1/push")
    return {
        "self_target": f"127.0.0.1:{ctx.data['prometheus_port']}",
        "redis_exporter_targets": topology.endpoints("redis_exporter", "redis_exporter_port", here),
        "mimir_targets": topology.endpoints("mimir", "mimir_http_port", here),
        "tempo_targets": topology.endpoints("tempo", "tempo_http_port", here),
        "loki_targets": topology.endpoints("loki", "loki_http_port", here),
        "remote_write_url": remote_write,
        "bearer_token_file": TOKEN_FILE if "backend_bearer_token" in ctx.secrets else None,
        "major": int(ctx.install.version.split(".")[0]),
    }


def build(ctx: BuildContext) -> ServiceSpec:
    data = ctx.data
    files = [
        ManagedFile(
            CONFIG,
            ctx.render("prometheus/prometheus.yml.j2", **_scrape_context(ctx)),
            check="{install}/promtool check config {path}",
        ),
        ManagedFile(
            f"{RULES_DIR}/alerts.yml",
            ctx.render("prometheus/rules/alerts.yml.j2"),
            check="{install}/promtool check rules {path}",
        ),
        ManagedFile(
            f"{RULES_DIR}/recording.yml",
            ctx.render("prometheus/rules/recording.yml.j2"),
            check="{install}/promtool check rules {path}",
        ),
    ]
    if "backend_bearer_token" in ctx.secrets:
        # Prometheus reads a credentials file on every scrape: a new token needs nothing.
        token = ctx.secrets["backend_bearer_token"].encode()
        files.append(ManagedFile(TOKEN_FILE, token, effect="none", secret=True))

    data_dir = "/var/lib/prometheus"
    unit = systemd_unit(
        NAME,
        "Prometheus: scrapes the GatewayZ API and the stack, remote-writes to Mimir",
        [
            "/opt/prometheus/current/prometheus",
            f"--config.file={CONFIG}",
            f"--storage.tsdb.path={data_dir}",
            f"--storage.tsdb.retention.time={data['prometheus_retention']}",
            f"--web.listen-address=0.0.0.0:{data['prometheus_port']}",
        ],
        read_write_paths=[data_dir],
        reload_signal=True,
        documentation="https://prometheus.io/docs/prometheus/latest/",
    )
    port = data["prometheus_port"]
    return ServiceSpec(
        name=NAME,
        install=ctx.install,
        unit=unit,
        files=tuple(files),
        dirs=(
            ManagedDir(RULES_DIR, "root", NAME, "750", prune=True),
            ManagedDir(SECRETS_DIR, "root", NAME, "750", prune=True),
        ),
        reloadable=True,
        ready=Probe(port, "/-/ready"),
        reload_ready=Probe(
            port,
            "/metrics",
            reloaded_metric="prometheus_config_last_reload_success_timestamp_seconds",
        ),
        data_dir=data_dir,
    )


COMPONENT = Component(
    name=NAME,
    keys=KEYS,
    artifact=Artifact(
        component=NAME,
        url="https://github.com/prometheus/prometheus/releases/download/v{version}/"
        "prometheus-{version}.linux-{arch}.tar.gz",
        checksums="https://github.com/prometheus/prometheus/releases/download/v{version}/"
        "sha256sums.txt",
        layout="tar.gz",
        members={
            "prometheus": "prometheus-{version}.linux-{arch}/prometheus",
            "promtool": "prometheus-{version}.linux-{arch}/promtool",
        },
        checked=("prometheus", "promtool"),
    ),
    version_key="prometheus_version",
    port_keys=("prometheus_port",),
    build=build,
)
