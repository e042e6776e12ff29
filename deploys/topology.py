"""Where each component runs, derived from the inventory's role groups.

Role groups are named after the components (``prometheus``, ``mimir``, ``loki``, ``tempo``,
``redis_exporter``, ``grafana``). Every cross-component address -- scrape targets,
remote_write, the metrics generator's remote_write, Grafana's datasources -- comes from
here, so moving a component means changing the inventory only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class Topology:
    nodes: dict[str, list[Node]]

    def of(self, component: str) -> list[Node]:
        return self.nodes.get(component, [])

    def address(self, node: Node, seen_from: str) -> str:
        """The node's address as the host ``seen_from`` reaches it: loopback on the
        same host, the advertised address otherwise."""
        return "127.0.0.1" if node.name == seen_from else node.address

    def endpoints(self, component: str, port_key: str, seen_from: str) -> list[str]:
        return [
            f"{self.address(node, seen_from)}:{node.settings[port_key]}"
            for node in self.of(component)
        ]

    def first_url(
        self, component: str, port_key: str, seen_from: str, path: str = ""
    ) -> str | None:
        endpoints = self.endpoints(component, port_key, seen_from)
        return f"http://{endpoints[0]}{path}" if endpoints else None


def build_topology(
    hosts: list[Any], settings: dict[str, dict[str, Any]], roles: list[str]
) -> Topology:
    nodes: dict[str, list[Node]] = {}
    for host in hosts:
        data = settings[host.name]
        address = data.get("advertise_address") or host.name
        for role in roles:
            if role in host.groups:
                nodes.setdefault(role, []).append(Node(host.name, address, data))
    return Topology(nodes)
