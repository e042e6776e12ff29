"""pyinfra deploys for the GatewayZ observability stack: Prometheus, Grafana Mimir, Loki,
Tempo, redis_exporter and Grafana as hardened systemd services on hosts you own.

Run ``pyinfra inventories/<env>.py deploys/stack.py``; ``deploys/stack.py`` is the entry
point, each other module holds what is particular to one component or one concern.
"""
