"""Command line for the test artifact cache: `python -m tests.artifacts build --cache DIR`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tests.artifacts import build_cache


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.artifacts", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build or refresh the artifact cache")
    build.add_argument("--cache", type=Path, default=Path(".cache/test-artifacts"))
    build.add_argument("--arch", help="Go architecture name (default: this machine's)")
    build.add_argument("--verbose", action="store_true", help="also log what is reused")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(name)s: %(message)s"
    )
    data = build_cache(args.cache, arch=args.arch)
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
