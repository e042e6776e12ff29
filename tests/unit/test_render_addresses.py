"""Every address in prod's rendered files comes from the inventory or from group data."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pyinfra.api import Config, State

from deploys.compose import load_inventory_file
from deploys.orchestration import COMPONENTS, build_plan
from tests.unit.conftest import INVENTORIES, REPO_ROOT

URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'`,\]}]+")
HOST_PORT = re.compile(r"(?<![\w.:/-])((?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+):(\d{1,5})\b(?![\w.:])")
IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Group data keys whose values are addresses (prod's backend, Redis and SMTP relay).
ADDRESS_KEYS = ("backend_target", "redis_address", "grafana_smtp_host")


def addresses(text: str) -> list[tuple[str, int | None]]:
    """Every (host, port) named in a file: in URLs, as host:port, or as a bare IPv4."""
    found: list[tuple[str, int | None]] = []
    rest = text
    for url in URL.findall(text):
        parts = urlsplit(url)
        found.append((parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme)))
        rest = rest.replace(url, " ")
    for host, port in HOST_PORT.findall(rest):
        found.append((host, int(port)))
        rest = rest.replace(f"{host}:{port}", " ")
    found.extend((ip, None) for ip in IPV4.findall(rest))
    return found


def test_the_address_scanner_finds_urls_host_ports_and_bare_addresses() -> None:
    text = (
        'url: "http://10.0.0.1:9009/api/v1/push"\n- targets: ["a.example:443"]\n'
        "instance_addr: 127.0.0.1\nlisten 0.0.0.0:4317 http://grafana.local/\n"
    )

    assert addresses(text) == [
        ("10.0.0.1", 9009),
        ("grafana.local", 80),
        ("a.example", 443),
        ("0.0.0.0", 4317),
        ("127.0.0.1", None),
    ]


def allowed_addresses(prod_settings: dict[str, dict]) -> tuple[set, dict[str, set]]:
    """Remote addresses any host may name, and the local ones each host may name."""
    loaded = load_inventory_file(INVENTORIES / "prod.py", REPO_ROOT)
    remote: set[tuple[str, int | None]] = set()
    local: dict[str, set[tuple[str, int | None]]] = {}
    for component in COMPONENTS:
        for host, data in loaded.groups[component.name][0]:
            advertised = data["advertise_address"]
            ports = {prod_settings[host][key] for key in component.port_keys}
            remote |= {(advertised, port) for port in ports} | {(advertised, None)}
            mine = local.setdefault(host, {("127.0.0.1", None), ("0.0.0.0", None)})
            mine |= {(loopback, port) for port in ports for loopback in ("127.0.0.1", "0.0.0.0")}
    for host in prod_settings:
        for key in ADDRESS_KEYS:
            value = prod_settings[host][key]
            name, _, port = value.rpartition(":")
            remote.add((name, int(port)))
    return remote, local


def prod_settings() -> dict[str, dict]:
    """Each prod host's effective data, as the plan resolves it."""
    loaded = load_inventory_file(INVENTORIES / "prod.py", REPO_ROOT)
    state = State(loaded.inventory({"secrets_file": None}), Config())
    state.cwd = str(REPO_ROOT)
    return build_plan(state).settings


def stray_addresses(rendered: dict[str, dict[str, bytes]]) -> tuple[list[str], int]:
    """Addresses in the rendered files that prod's inventory and group data did not give,
    and how many addresses were looked at."""
    remote, local = allowed_addresses(prod_settings())
    stray: list[str] = []
    counted = 0
    for host, files in rendered.items():
        for path, content in files.items():
            text = "\n".join(
                line
                for line in content.decode().splitlines()
                # Units link the upstream documentation; that is no address of the stack.
                if not line.startswith("Documentation=")
            )
            for address in addresses(text):
                counted += 1
                if address not in remote and address not in local.get(host, set()):
                    stray.append(f"{host}:{path}: {address[0]}:{address[1]}")
    return stray, counted


def test_prod_names_only_inventory_and_group_data_addresses(render) -> None:
    stray, counted = stray_addresses(render("prod"))

    assert not stray, "addresses neither the inventory nor group data gave:\n" + "\n".join(stray)
    assert counted > 20


def test_an_address_from_elsewhere_is_reported(render) -> None:
    extra = [{"job_name": "node", "static_configs": [{"targets": ["203.0.113.9:9100"]}]}]

    stray, _ = stray_addresses(render("prod", prometheus_extra_scrape_configs=extra))

    assert stray == ["prometheus-1:/etc/prometheus/prometheus.yml: 203.0.113.9:9100"]


def test_prod_places_each_component_on_its_own_host(render) -> None:
    rendered = render("prod")

    configs = {
        "/etc/prometheus/prometheus.yml": "prometheus-1",
        "/etc/mimir/mimir.yaml": "mimir-1",
        "/etc/loki/loki.yaml": "loki-1",
        "/etc/tempo/tempo.yaml": "tempo-1",
        "/etc/systemd/system/redis_exporter.service": "cache-1",
        "/etc/grafana/grafana.ini": "grafana-1",
    }
    for path, host in configs.items():
        assert [h for h, files in rendered.items() if path in files] == [host], path
