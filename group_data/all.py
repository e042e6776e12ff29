"""Settings shared by every environment. Each key, its default and its meaning are declared
in deploys/settings.py or the component's module; set here only what your team changes
everywhere. Secrets never go in group data: see `secrets_file`."""

# Where downloaded release archives are kept on the controller (reused across runs).
artifact_cache_dir = ".cache/artifacts"
