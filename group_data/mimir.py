"""Hosts in the mimir role group. Limits are per tenant; raise them here as traffic grows."""
