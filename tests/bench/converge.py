"""Benchmark: fresh converge and no-op re-run of the whole stack, printed as figures.

    python tests/bench/converge.py [--hosts N] [--runs K]

Creates the `bench` scenario's host(s) with the test harness (systemd containers reached
over SSH on 127.0.0.1), converges the whole stack on them from the warm test-artifact
cache, then re-runs the unchanged deploy K times. Prints wall times, the median no-op
time, and how many commands each no-op run sent per host. It measures; it asserts
nothing, and it is not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def harness(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tests.harness", *args], cwd=ROOT, check=True)


def data_args() -> list[str]:
    data = json.loads((ROOT / ".cache/test-artifacts/test-data.json").read_text())
    args: list[str] = []
    for key, value in data.items():
        args += ["--data", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    return args


def converge(inventory: Path, debug: bool = False) -> tuple[float, int, str]:
    command = [
        str(BIN / "pyinfra"),
        "-y",
        "--json",
        str(inventory),
        "deploys/stack.py",
        *data_args(),
    ]
    if debug:
        command.append("--debug")
    started = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        sys.stderr.write(run.stderr[-4000:])
        raise SystemExit(f"bench: converge failed (exit {run.returncode})")
    changed = json.loads(run.stdout)["results"]["totals"]["success"]
    return elapsed, changed, run.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1, help="number of hosts (1 to 8)")
    parser.add_argument("--runs", type=int, default=3, help="no-op re-runs to time")
    args = parser.parse_args()
    scenario = "bench" if args.hosts == 1 else "bench-many"
    inventory = ROOT / f".molecule/{scenario}/inventories/dev.py"

    harness("create", scenario)
    try:
        harness("prepare", scenario)
        fresh, changed, _ = converge(inventory)
        noops = [converge(inventory) for _ in range(args.runs)]
        _, _, debug_log = converge(inventory, debug=True)
        commands = debug_log.count("Running command on")
        hosts = len(json.loads((ROOT / f".molecule/{scenario}/state.json").read_text())["hosts"])
        print(f"bench: hosts                          {hosts}")
        print(
            f"bench: fresh converge                 {fresh:6.1f} s  ({changed} operations changed)"
        )
        for number, (seconds, noop_changed, _) in enumerate(noops, 1):
            print(
                f"bench: no-op re-run {number}                {seconds:6.1f} s  "
                f"({noop_changed} operations changed)"
            )
        print(
            f"bench: no-op re-run, median           "
            f"{statistics.median(s for s, _, _ in noops):6.1f} s"
        )
        print(f"bench: commands per host in a no-op   {commands / hosts:6.1f}")
    finally:
        harness("destroy", scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
