"""Hosts in the tempo role group.

Nothing is set here: every key has its one default in the deploys (`obs-keys` lists
them). Uncomment and edit what your hosts of this role need."""

# tempo_block_retention = "336h"
# tempo_span_metrics_dimensions = ["gen_ai.request.model", "gen_ai.system", "ai.provider", "ai.model_id", "http.status_code", "customer.id"]  # adds a high-cardinality label
