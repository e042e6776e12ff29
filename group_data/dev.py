"""The sandbox: the sample backend runs on the same host, over plain HTTP."""

import json
from pathlib import Path

stack_environment = "dev"
backend_target = "127.0.0.1:8000"
backend_scheme = "http"
backend_labels = {"env": "dev"}
redis_address = "127.0.0.1:6379"

# `make demo ARTIFACTS=test` records the offline test artifacts it used here, so that a
# plain `pyinfra inventories/dev.py deploys/stack.py` afterwards keeps the same versions.
_artifacts = Path(".molecule/sandbox/artifacts.json")
if _artifacts.exists():
    globals().update(json.loads(_artifacts.read_text()))
