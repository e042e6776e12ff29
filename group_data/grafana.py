"""Hosts in the grafana role group.

Nothing is set here: every key has its one default in the deploys (`obs-keys` lists
them). Uncomment and edit what your hosts of this role need."""

# grafana_root_url = "https://grafana.example.com/"
# grafana_extra_dashboards_dir = "/srv/dashboards"   # your own dashboard JSON, by folder
# alert_email_critical = ["oncall@example.com"]
# alert_rule_groups_disabled = ["model_alerts"]
