"""Hosts in the redis_exporter role group: usually the application's Redis host.

Nothing is set here: every key has its one default in the deploys (`obs-keys` lists
them). Uncomment and edit what your hosts of this role need."""

# redis_address = "127.0.0.1:6379"
# The password comes from GATEWAYZ_REDIS_PASSWORD or the secrets_file, never from here.
