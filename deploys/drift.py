"""``obs-drift INVENTORY [pyinfra options]``: what differs on each host, changing nothing.

Runs ``pyinfra --dry`` on ``deploys/stack.py``: every component's state is read with its
one fact and compared with what the deploy would make -- managed files, units, install
trees, users, directories, service state. Prints one line per service that differs, with
the reasons, and exits 1 when anything drifted (0 when nothing did, 2 when the run
failed), so it can run from cron or CI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from deploys.render import REPO_ROOT
from deploys.service import STRAY

_REASON = re.compile(r"^\s+\[(?P<host>[^\]]+)\] (?P<component>[a-z_]+): (?P<reasons>.+)$")
_OPERATION = re.compile(r"^(?P<component>[a-z_]+): install, configure and run$")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    inventory = str(Path(args[0]).resolve())
    pyinfra = str(Path(sys.executable).with_name("pyinfra"))
    command = [pyinfra, "--dry", "--json", inventory, "deploys/stack.py", *args[1:]]
    environment = {**os.environ, "GATEWAYZ_REASONS": "all"}
    run = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=environment)
    try:
        plan = json.loads(run.stdout)["plan"]
    except (ValueError, KeyError, TypeError):
        sys.stderr.write(run.stderr)
        print("obs-drift: the dry run failed; nothing was checked", file=sys.stderr)
        return 2

    reasons: dict[tuple[str, str], str] = {}
    for line in run.stderr.splitlines():
        match = _REASON.match(line)
        if match:
            reasons[(match["host"], match["component"])] = match["reasons"]

    drifted: dict[str, list[str]] = {}
    checked = 0
    for operation in plan:
        match = _OPERATION.match(operation["name"])
        if not match:
            continue
        component = match["component"]
        for host in operation["hosts_with_change"]:
            why = reasons.get((host, component), "differs")
            drifted.setdefault(host, []).append(f"{component}: {why}")
        checked += 1
    for (host, component), why in sorted(reasons.items()):
        if why.startswith(STRAY):
            drifted.setdefault(host, []).append(f"{component}: {STRAY}")
    for host in sorted(drifted):
        print(host)
        for line in drifted[host]:
            print(f"  {line}")
    count = sum(len(lines) for lines in drifted.values())
    print(
        f"drift: {count} service(s) differ on {len(drifted)} host(s)"
        if count
        else f"drift: none ({checked} component deploys checked)"
    )
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
