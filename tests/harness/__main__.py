"""Command line: `python -m tests.harness {list,test,create,...} [scenario]`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import docker
import docker.errors

from .errors import HarnessError
from .scenario import STAGES, list_scenarios, load_scenario
from .stages import REPOSITORY_ROOT, Context, run_stage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness",
        description="Run molecule-style scenarios (molecule/<scenario>/molecule.yml) with Docker.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more to stderr")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the scenarios")
    urls = commands.add_parser("urls", help="print the URLs of a created scenario's services")
    urls.add_argument("scenario")

    for name in ("test", *STAGES):
        help_text = (
            "run the scenario's whole test_sequence"
            if name == "test"
            else f"run only the {name} stage"
        )
        command = commands.add_parser(name, help=help_text)
        command.add_argument("scenario")
        command.add_argument(
            "--deploy",
            default="deploys/stack.py",
            help="pyinfra deploy file to converge, relative to the repository root "
            "(default: deploys/stack.py)",
        )
        if name == "test":
            command.add_argument(
                "--keep", action="store_true", help="leave the containers running at the end"
            )
    return parser


# Container port -> what answers there, for `urls`.
SERVICES = {
    3000: ("Grafana", ""),
    9090: ("Prometheus", ""),
    9009: ("Mimir", "/ready"),
    3100: ("Loki", "/ready"),
    3200: ("Tempo", "/ready"),
    4318: ("Tempo OTLP/HTTP", "/v1/traces"),
    4317: ("Tempo OTLP/gRPC", ""),
    9121: ("redis_exporter", "/metrics"),
    8000: ("sample backend", "/metrics"),
}


def print_urls(root: Path, scenario: str) -> int:
    state_path = root / ".molecule" / scenario / "state.json"
    if not state_path.exists():
        print(f"harness: {scenario} has not been created", file=sys.stderr)
        return 1
    state = json.loads(state_path.read_text())
    for host, details in state["hosts"].items():
        published = {int(k): v for k, v in details["published_ports"].items()}
        print(f"{host}:")
        for port, (label, path) in SERVICES.items():
            if port in published:
                scheme = "grpc" if port == 4317 else "http"
                print(f"  {label:<16} {scheme}://127.0.0.1:{published[port]}{path}")
        if 22 in published:
            directory = state_path.parent.relative_to(root)
            print(
                f"  {'ssh':<16} ssh -i {directory}/id_ed25519 -o UserKnownHostsFile="
                f"{directory}/known_hosts -p {published[22]} deploy@127.0.0.1"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(arguments.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    # The docker SDK and urllib3 log every request at DEBUG; keep -vv readable.
    logging.getLogger("urllib3").setLevel(logging.WARNING)

    if arguments.command == "list":
        for name in list_scenarios(REPOSITORY_ROOT):
            print(name)
        return 0

    if arguments.command == "urls":
        return print_urls(REPOSITORY_ROOT, arguments.scenario)

    try:
        scenario = load_scenario(REPOSITORY_ROOT, arguments.scenario)
        client = docker.from_env()
        client.ping()
    except HarnessError as error:
        print(f"harness: {error}", file=sys.stderr)
        return 2
    except docker.errors.DockerException as error:
        print(f"harness: the Docker engine is not reachable: {error}", file=sys.stderr)
        return 2

    context = Context(
        scenario=scenario, root=REPOSITORY_ROOT, deploy=arguments.deploy, client=client
    )
    if arguments.command != "test":
        return 0 if run_stage(context, arguments.command) else 1

    started = time.monotonic()
    sequence = [stage for stage in scenario.test_sequence if stage != "destroy"]
    destroy_at_end = "destroy" in scenario.test_sequence and not arguments.keep
    succeeded = True
    for stage in sequence:
        if not run_stage(context, stage):
            succeeded = False
            break
    if destroy_at_end:
        succeeded = run_stage(context, "destroy") and succeeded

    outcome = "passed" if succeeded else "FAILED"
    print(f"harness {scenario.name}: test {outcome} ({time.monotonic() - started:.1f} s)")
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
