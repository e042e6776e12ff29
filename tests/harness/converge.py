"""Running pyinfra against a created scenario and reading what it changed.

pyinfra runs in a subprocess: importing pyinfra_cli patches the whole interpreter with gevent,
which would break the docker SDK calls the harness makes around it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HarnessError

logger = logging.getLogger("tests.harness")

ARTIFACT_CACHE = Path(".cache/test-artifacts")
TEST_DATA_FILE = "test-data.json"
CONVERGE_TIMEOUT = 1800.0


@dataclass
class ConvergeResult:
    """What one pyinfra run did.

    + changed: names of the operations that changed something, with the hosts they changed
    + changed_count: pyinfra's `results.totals.success` (changed operation-host pairs)
    + seconds: wall time of the run
    """

    changed: list[tuple[str, list[str]]] = field(default_factory=list)
    changed_count: int = 0
    failed: list[tuple[str, list[str]]] = field(default_factory=list)
    failed_hosts: list[str] = field(default_factory=list)
    seconds: float = 0.0


def pyinfra_executable() -> Path:
    """The `pyinfra` script installed next to the running interpreter."""
    candidate = Path(sys.executable).parent / "pyinfra"
    if not candidate.exists():
        raise HarnessError(f"no pyinfra executable next to {sys.executable}")
    return candidate


def load_test_data(root: Path) -> dict[str, Any]:
    """Build the test artifacts when the builder exists; return the data for `--data`.

    The builder lives in `tests.artifacts`; until it exists, an already written test-data.json is
    used, and failing that the converge runs with no extra data.
    """
    cache = root / ARTIFACT_CACHE
    build_cache = _artifact_builder()
    if build_cache is None:
        logger.info("tests.artifacts.build_cache is not there yet; using any existing test data")
    else:
        parameters = inspect.signature(build_cache).parameters
        returned = build_cache(cache) if parameters else build_cache()
        if isinstance(returned, dict):
            return returned

    path = cache / TEST_DATA_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: expected a JSON object of pyinfra data")
    return data


def _artifact_builder() -> Callable[..., Any] | None:
    # An empty tests/artifacts directory imports as a namespace package with no builder in it.
    if importlib.util.find_spec("tests.artifacts") is None:
        return None
    module = importlib.import_module("tests.artifacts")
    return getattr(module, "build_cache", None)


def data_arguments(data: dict[str, Any]) -> list[str]:
    """`--data key=value` arguments that pyinfra 3.10's parse_cli_arg reads back unchanged.

    parse_cli_arg turns "true"/"false" into booleans, digits into ints and anything that parses
    as JSON into that value, so every value that is not a plain string is JSON-encoded, and so is
    any string that would otherwise be read as something else.
    """
    arguments: list[str] = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, str) and _reads_back_as_string(value):
            encoded = value
        else:
            encoded = json.dumps(value, sort_keys=True)
        arguments += ["--data", f"{key}={encoded}"]
    return arguments


def _reads_back_as_string(value: str) -> bool:
    if value.lower() in ("true", "false"):
        return False
    try:
        int(value)
        return False
    except ValueError:
        pass
    try:
        json.loads(value)
        return False
    except ValueError:
        return True


def run_pyinfra(
    root: Path, inventory: Path, deploy: str, data: dict[str, Any], log_path: Path
) -> ConvergeResult:
    """Apply `deploy` to the inventory; raise HarnessError when pyinfra fails."""
    command = [
        str(pyinfra_executable()),
        "-y",
        "--json",
        *data_arguments(data),
        str(inventory),
        deploy,
    ]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=CONVERGE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"pyinfra did not finish in {CONVERGE_TIMEOUT:.0f} s") from error
    seconds = time.monotonic() - started

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        log.write(f"$ {' '.join(command)}\n# exit {completed.returncode}, {seconds:.1f} s\n")
        log.write("## stdout\n" + completed.stdout + "\n## stderr\n" + completed.stderr + "\n")

    result = parse_results(completed.stdout)
    result.seconds = seconds
    if completed.returncode != 0 or result.failed or result.failed_hosts:
        reasons = [f"pyinfra exited {completed.returncode}"]
        failed = result.failed or failed_operations_from_log(completed.stderr)
        reasons += [f"operation failed: {name} on {', '.join(hosts)}" for name, hosts in failed]
        if result.failed_hosts:
            reasons.append(f"failed hosts: {', '.join(result.failed_hosts)}")
        tail = "\n".join(completed.stderr.splitlines()[-25:])
        raise HarnessError("; ".join(reasons) + f" (full log: {log_path})\n{tail}")
    return result


def parse_results(stdout: str) -> ConvergeResult:
    """Read pyinfra 3.10's `--json` output: {"plan": [...], "results": {"operations", "totals"}}."""
    start = stdout.find("{")
    if start < 0:
        return ConvergeResult()
    try:
        payload = json.loads(stdout[start:])
    except json.JSONDecodeError:
        return ConvergeResult()

    results = payload.get("results") or {}
    result = ConvergeResult(
        changed_count=int((results.get("totals") or {}).get("success", 0)),
        failed_hosts=list(results.get("failed_hosts") or []),
    )
    for operation in results.get("operations") or []:
        if operation.get("success"):
            result.changed.append((operation["name"], list(operation["success"])))
        if operation.get("error"):
            result.failed.append((operation["name"], list(operation["error"])))
    return result


def failed_operations_from_log(stderr: str) -> list[tuple[str, list[str]]]:
    """Failed operations read from pyinfra's progress log, for runs that end before the JSON.

    pyinfra prints no JSON when every host has failed ("No hosts remaining!"); its log still has
    `--> Starting operation: <name>` followed by `[<host>] Error: ...` lines.
    """
    failed: list[tuple[str, list[str]]] = []
    current = ""
    for line in stderr.splitlines():
        text = line.strip()
        if text.startswith("--> Starting operation:"):
            current = text.removeprefix("--> Starting operation:").strip()
        elif text.startswith("[") and "] Error" in text and current:
            host = text[1 : text.index("]")]
            if failed and failed[-1][0] == current:
                failed[-1][1].append(host)
            else:
                failed.append((current, [host]))
    return failed
