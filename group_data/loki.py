"""Hosts in the loki role group.

Nothing is set here: every key has its one default in the deploys (`obs-keys` lists
them). Uncomment and edit what your hosts of this role need."""

# loki_retention = "2160h"
# loki_ingestion_rate_mb = 20
# loki_max_global_streams_per_user = 20000
