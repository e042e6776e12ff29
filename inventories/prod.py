"""Production: each component on hosts of its own, by role group. Every cross-host address
(scrape targets, remote writes, Grafana's datasources) is derived from this file; the
`advertise_address` of a host is what the others use to reach it.

The addresses are placeholders (TEST-NET-2); replace them with your hosts'.
"""

_ssh = {"ssh_user": "deploy", "_sudo": True}


def _host(name: str, address: str) -> tuple[str, dict]:
    return (name, {**_ssh, "ssh_hostname": address, "advertise_address": address})


prometheus = [_host("prometheus-1", "198.51.100.11")]
mimir = [_host("mimir-1", "198.51.100.21")]
loki = [_host("loki-1", "198.51.100.31")]
tempo = [_host("tempo-1", "198.51.100.41")]
# The exporter sits next to the application's Redis.
redis_exporter = [_host("cache-1", "198.51.100.51")]
grafana = [_host("grafana-1", "198.51.100.61")]
