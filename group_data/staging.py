"""Staging: scrapes the staging API; shorter retention than production."""

stack_environment = "staging"
backend_target = "api.staging.example.com:443"  # placeholder: your staging API
backend_scheme = "https"
backend_labels = {"env": "staging"}
redis_address = "127.0.0.1:6379"
prometheus_retention = "7d"
secrets_file = "~/.config/gatewayz-observability/staging-secrets.yaml"
