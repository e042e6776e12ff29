"""Production: the GatewayZ API over HTTPS with a bearer token from the secrets file."""

stack_environment = "production"
backend_target = "api.gatewayz.ai:443"
backend_scheme = "https"
backend_labels = {"env": "production"}
redis_address = "127.0.0.1:6379"  # the exporter runs on the Redis host (cache-1)
secrets_file = "~/.config/gatewayz-observability/prod-secrets.yaml"
grafana_smtp_enabled = True
grafana_smtp_host = "smtp.example.com:587"  # placeholder
grafana_smtp_user = "alerts@example.com"  # placeholder
grafana_smtp_from_address = "alerts@example.com"  # placeholder
