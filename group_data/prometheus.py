"""Hosts in the prometheus role group (scraping, rules, remote write).

Nothing is set here: every key has its one default in the deploys (`obs-keys` lists
them). Uncomment and edit what your hosts of this role need."""

# prometheus_retention = "30d"          # local TSDB; long-term data lives in Mimir
# prometheus_scrape_interval = "30s"
# prometheus_extra_scrape_configs = [{"job_name": "node", "static_configs": [{"targets": ["10.0.0.5:9100"]}]}]
