"""Hosts in the mimir role group. Limits are per tenant; raise them as traffic grows.

Nothing is set here: every key has its one default in the deploys (`obs-keys` lists
them). Uncomment and edit what your hosts of this role need."""

# mimir_ingestion_rate = 100000
# mimir_max_global_series_per_user = 1000000
# mimir_retention = "2160h"              # 90 days
