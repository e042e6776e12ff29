"""redis_exporter: turns the application's Redis cache into metrics. It has no config
file; its settings are flags in the unit, and a password comes from a file."""

from __future__ import annotations

import json

from deploys.artifacts import Artifact
from deploys.components import BuildContext, Component, systemd_unit
from deploys.service import ManagedDir, ManagedFile, Probe, ServiceSpec
from deploys.settings import HOST_PORT, PORT, SECRET, VERSION, Key

NAME = "redis_exporter"
SECRETS_DIR = "/etc/redis_exporter/secrets"
PASSWORD_FILE = f"{SECRETS_DIR}/passwords.json"

KEYS = (
    Key(
        "redis_exporter_version",
        VERSION,
        "1.67.0",
        "redis_exporter release; must have a lock entry.",
    ),
    Key("redis_exporter_port", PORT, 9121, "-web.listen-address port."),
    Key("redis_address", HOST_PORT, "127.0.0.1:6379", "host:port of the Redis to scrape."),
    Key("redis_password", SECRET, None, "Password of that Redis (secret).", secret=True),
)


def build(ctx: BuildContext) -> ServiceSpec:
    data = ctx.data
    redis_uri = f"redis://{data['redis_address']}"
    args = [
        "/opt/redis_exporter/current/redis_exporter",
        f"-redis.addr={redis_uri}",
        f"-web.listen-address=0.0.0.0:{data['redis_exporter_port']}",
    ]
    files = []
    if "redis_password" in ctx.secrets:
        # A password file keeps the password out of the unit, argv and `systemctl show`.
        content = json.dumps({redis_uri: ctx.secrets["redis_password"]}, sort_keys=True)
        files.append(ManagedFile(PASSWORD_FILE, content.encode(), effect="restart", secret=True))
        args.append(f"-redis.password-file={PASSWORD_FILE}")
    unit = systemd_unit(
        NAME,
        "redis_exporter: metrics of the GatewayZ Redis cache",
        args,
        read_write_paths=["/var/lib/redis_exporter"],
        documentation="https://github.com/oliver006/redis_exporter",
    )
    return ServiceSpec(
        name=NAME,
        install=ctx.install,
        unit=unit,
        files=tuple(files),
        dirs=(ManagedDir(SECRETS_DIR, "root", NAME, "750", prune=True),),
        ready=Probe(data["redis_exporter_port"], "/metrics", expect="^redis_up 1"),
        ready_timeout=60,
    )


COMPONENT = Component(
    name=NAME,
    keys=KEYS,
    artifact=Artifact(
        component=NAME,
        url="https://github.com/oliver006/redis_exporter/releases/download/v{version}/"
        "redis_exporter-v{version}.linux-{arch}.tar.gz",
        checksums="https://github.com/oliver006/redis_exporter/releases/download/v{version}/"
        "sha256sums.txt",
        layout="tar.gz",
        members={"redis_exporter": "redis_exporter-v{version}.linux-{arch}/redis_exporter"},
        checked=("redis_exporter",),
    ),
    version_key="redis_exporter_version",
    port_keys=("redis_exporter_port",),
    build=build,
)
