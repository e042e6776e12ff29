"""Staging: one VM runs the whole stack, next to the staging API. Replace the placeholder
address and SSH user with yours."""

_monitoring = (
    "monitoring-staging-1",
    {
        "ssh_hostname": "192.0.2.10",  # placeholder (TEST-NET-1): your VM's address
        "ssh_user": "deploy",
        "_sudo": True,
    },
)

prometheus = [_monitoring]
mimir = [_monitoring]
loki = [_monitoring]
tempo = [_monitoring]
redis_exporter = [_monitoring]
grafana = [_monitoring]
