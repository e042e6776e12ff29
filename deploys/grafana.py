"""Grafana with its datasources (fixed UIDs, wired from the inventory), dashboards and
alerting provisioned from files. Grafana has no dry run, so the provisioning files are
checked here, on the controller, before anything is sent."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import yaml
from pyinfra import logger

from deploys import alerting
from deploys.artifacts import Artifact
from deploys.components import BuildContext, Component, systemd_unit
from deploys.dashboards import load_extra_dashboards, render_dashboards
from deploys.errors import RenderError
from deploys.service import ManagedDir, ManagedFile, Probe, ServiceSpec
from deploys.settings import BOOLEAN, OPTIONAL_TEXT, PORT, SECRET, TEXT, VERSION, Key

NAME = "grafana"
CONFIG = "/etc/grafana/grafana.ini"
PROVISIONING = "/etc/grafana/provisioning"
DASHBOARDS = "/etc/grafana/dashboards"
SECRETS_DIR = "/etc/grafana/secrets"
DATA = "/var/lib/grafana"

KEYS = (
    Key("grafana_version", VERSION, "11.5.2", "Grafana OSS release; must have a lock entry."),
    Key("grafana_port", PORT, 3000, "[server] http_port."),
    Key("grafana_root_url", OPTIONAL_TEXT, None, "[server] root_url, when behind a proxy."),
    Key("grafana_admin_user", TEXT, "admin", "[security] admin_user."),
    Key(
        "grafana_admin_password",
        SECRET,
        None,
        "[security] admin_password (secret); Grafana applies it only when it creates its database.",
        secret=True,
    ),
    Key("grafana_smtp_enabled", BOOLEAN, False, "[smtp] enabled: e-mail for alert notifications."),
    Key("grafana_smtp_host", OPTIONAL_TEXT, None, "[smtp] host, as host:port."),
    Key("grafana_smtp_user", OPTIONAL_TEXT, None, "[smtp] user."),
    Key("grafana_smtp_password", SECRET, None, "[smtp] password (secret).", secret=True),
    Key("grafana_smtp_from_address", OPTIONAL_TEXT, None, "[smtp] from_address."),
    Key("grafana_smtp_from_name", TEXT, "GatewayZ Observability", "[smtp] from_name."),
    Key(
        "grafana_extra_dashboards_dir",
        OPTIONAL_TEXT,
        None,
        "Controller folder of your own dashboard JSON files; subfolders become Grafana "
        "folders. Provisioned beside the stack's dashboards.",
    ),
    *alerting.KEYS,
)

DATASOURCE_UIDS = {
    "prometheus": "grafana_prometheus",
    "mimir": "grafana_mimir",
    "loki": "grafana_loki",
    "tempo": "grafana_tempo",
}


def _datasource_urls(ctx: BuildContext) -> dict[str, str | None]:
    here, topology = ctx.host_name, ctx.topology
    return {
        "prometheus": topology.first_url("prometheus", "prometheus_port", here),
        "mimir": topology.first_url("mimir", "mimir_http_port", here, "/prometheus"),
        "loki": topology.first_url("loki", "loki_http_port", here),
        "tempo": topology.first_url("tempo", "tempo_http_port", here),
    }


def slug(folder: str) -> str:
    """Host directory name of a dashboard folder: ``Model Performance`` -> ``model-performance``;
    dashboards outside any folder (``.``) go to ``general``."""
    if folder in (".", ""):
        return "general"
    return re.sub(r"[^a-z0-9]+", "-", folder.lower()).strip("-")


INI_SECTIONS = {"paths", "server", "security", "analytics", "log", "unified_alerting", "smtp"}


def check_ini(text: bytes, path: str) -> None:
    """grafana.ini must hold exactly the sections the template writes, each key once: a
    setting whose value broke a line (and so added a section or key) is refused."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        parser.read_string(text.decode(), source=path)
    except configparser.Error as error:
        raise RenderError(f"{path}: {error}") from None
    unexpected = sorted(set(parser.sections()) - INI_SECTIONS)
    if unexpected:
        raise RenderError(
            f"{path}: unexpected section [{unexpected[0]}]: a setting's value "
            f"must not contain a line break"
        )


def check_datasources(text: bytes, path: str) -> None:
    """What Grafana would refuse or silently get wrong in a datasources file."""
    document: Any = yaml.safe_load(text)
    sources = document.get("datasources") or []
    uids = [source.get("uid") for source in sources]
    if len(set(uids)) != len(uids) or None in uids:
        raise RenderError(f"{path}: every datasource needs a unique uid: {uids}")
    defaults = [source["name"] for source in sources if source.get("isDefault")]
    if sources and len(defaults) != 1:
        raise RenderError(f"{path}: exactly one datasource must be the default, found {defaults}")
    for source in sources:
        for key in ("name", "type", "uid", "url", "access"):
            if not source.get(key):
                raise RenderError(f"{path}: datasource {source.get('name')!r} lacks {key}")


def build(ctx: BuildContext) -> ServiceSpec:
    data, secrets = ctx.data, ctx.secrets
    if "grafana_admin_password" not in secrets:
        logger.warning(
            f"{ctx.host_name}: grafana_admin_password is not set (GATEWAYZ_GRAFANA_ADMIN_PASSWORD "
            f"or the secrets_file): a new Grafana keeps its built-in admin/admin"
        )
    urls = _datasource_urls(ctx)
    datasources = ctx.render(
        "grafana/provisioning/datasources/gatewayz.yaml.j2", urls=urls, uids=DATASOURCE_UIDS
    )
    datasources_path = f"{PROVISIONING}/datasources/gatewayz.yaml"
    check_datasources(datasources, datasources_path)

    ini = ctx.render(
        "grafana/grafana.ini.j2",
        data_dir=DATA,
        provisioning=PROVISIONING,
        admin_password_file=f"{SECRETS_DIR}/admin_password"
        if "grafana_admin_password" in secrets
        else None,
        smtp_password_file=f"{SECRETS_DIR}/smtp_password"
        if "grafana_smtp_password" in secrets
        else None,
    )
    check_ini(ini, CONFIG)
    files = [
        ManagedFile(CONFIG, ini, effect="restart"),
        ManagedFile(datasources_path, datasources, effect="restart"),
    ]
    dashboards = render_dashboards()
    if data["grafana_extra_dashboards_dir"]:
        extra = load_extra_dashboards(Path(data["grafana_extra_dashboards_dir"]))
        clash = sorted(set(extra) & set(dashboards))
        if clash:
            raise RenderError(f"grafana_extra_dashboards_dir: {clash[0]} is a stack dashboard")
        dashboards.update(extra)
    # One directory per folder, named by a slug: folder titles have spaces, host paths do
    # not. Each folder gets a provider that carries its title.
    folders: dict[str, str] = {}
    for path in dashboards:
        title = str(Path(path).parent)
        other = folders.setdefault(slug(title), title)
        if other != title:
            raise RenderError(
                f"grafana_extra_dashboards_dir: folders {other!r} and {title!r} would share "
                f"{DASHBOARDS}/{slug(title)}; rename one"
            )
    # Grafana re-reads dashboards from disk on its own; no restart for them.
    files += [
        ManagedFile(
            f"{DASHBOARDS}/{slug(str(Path(path).parent))}/{Path(path).name}",
            content,
            effect="none",
        )
        for path, content in sorted(dashboards.items())
    ]
    files += [
        ManagedFile(f"{PROVISIONING}/alerting/{name}", content, effect="restart")
        for name, content in sorted(alerting.render_alerting(data).items())
    ]

    files.append(
        ManagedFile(
            f"{PROVISIONING}/dashboards/gatewayz.yaml",
            ctx.render(
                "grafana/provisioning/dashboards/gatewayz.yaml.j2",
                providers=[
                    (directory, "" if title == "." else title, f"{DASHBOARDS}/{directory}")
                    for directory, title in sorted(folders.items())
                ],
            ),
            effect="restart",
        )
    )

    for secret in ("admin_password", "smtp_password"):
        if f"grafana_{secret}" in secrets:
            # TODO: a changed admin password reaches only a new database; rotating it on a
            # running Grafana needs `grafana cli admin reset-admin-password`, not done yet.
            files.append(
                ManagedFile(
                    f"{SECRETS_DIR}/{secret}",
                    secrets[f"grafana_{secret}"].encode(),
                    effect="restart",
                    secret=True,
                )
            )

    unit = systemd_unit(
        NAME,
        "Grafana: dashboards and alerting for the GatewayZ stack",
        [
            "/opt/grafana/current/bin/grafana",
            "server",
            f"--config={CONFIG}",
            "--homepath=/opt/grafana/current",
        ],
        read_write_paths=[DATA],
        documentation="https://grafana.com/docs/grafana/latest/",
    )
    provisioning_dirs = tuple(
        ManagedDir(f"{PROVISIONING}/{kind}", "root", NAME, "750", prune=True)
        for kind in ("datasources", "dashboards", "alerting", "plugins")
    )
    return ServiceSpec(
        name=NAME,
        install=ctx.install,
        unit=unit,
        files=tuple(files),
        dirs=(
            ManagedDir(PROVISIONING, "root", NAME, "750"),
            *provisioning_dirs,
            ManagedDir(DASHBOARDS, "root", NAME, "750", prune=True, prune_effect="none"),
            *(
                ManagedDir(
                    f"{DASHBOARDS}/{folder}", "root", NAME, "750", prune=True, prune_effect="none"
                )
                for folder in sorted(folders)
            ),
            ManagedDir(SECRETS_DIR, "root", NAME, "750", prune=True),
        ),
        ready=Probe(data["grafana_port"], "/api/health", expect='"database": ?"ok"'),
        ready_timeout=180,
        data_dir=DATA,
    )


COMPONENT = Component(
    name=NAME,
    keys=KEYS,
    artifact=Artifact(
        component=NAME,
        url="https://dl.grafana.com/oss/release/grafana-{version}.linux-{arch}.tar.gz",
        checksums="https://dl.grafana.com/oss/release/grafana-{version}.linux-{arch}.tar.gz.sha256",
        layout="tar.gz",
        # TODO: Grafana 12 tarballs carry a build id in their names; the lock entry's URL
        # can already name one, but this folder pattern assumes the 11.x layout.
        members={"": "grafana-v{version}"},
        checked=("bin/grafana",),
    ),
    version_key="grafana_version",
    port_keys=("grafana_port",),
    build=build,
)
