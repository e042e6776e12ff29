"""``obs-lock``: keep the artifact lock in step with upstream releases.

    obs-lock add COMPONENT VERSION [--arch amd64 --arch arm64]   add entries (URLs only)
    obs-lock refresh [COMPONENT[@VERSION] ...]                  fill in sha256 from the
                                                                upstream checksum files
    obs-lock fetch [--cache DIR]                                download every locked
                                                                artifact and verify it
    obs-lock check                                              exit 1 if an entry has
                                                                no sha256

The checksum files follow each project's own convention (``sha256sums.txt``,
``SHA256SUMS``, per-asset ``-sha-256`` and ``.sha256`` files); ``--mirror`` reads them, and
the artifacts, from a mirror laid out as ``<mirror>/<upstream host>/<path>``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from deploys.artifacts import ensure_cached, fetch_url, lock_entry, mirrored, parse_checksums
from deploys.errors import ArtifactError

HEADER = (
    "# The artifact lock: per component, version and platform, the upstream URL and sha256.\n"
    "# Edited by `obs-lock add` and `obs-lock refresh`; a deploy refuses any entry whose\n"
    "# sha256 is missing or does not match the downloaded file.\n"
)


def _artifacts() -> dict[str, Any]:
    from deploys.orchestration import COMPONENTS

    return {component.name: component.artifact for component in COMPONENTS}


def read(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {} if path.exists() else {}


def write(path: Path, lock: dict[str, Any]) -> None:
    ordered = {
        component: {str(v): lock[component][v] for v in sorted(lock[component], key=_version_key)}
        for component in sorted(lock)
    }
    text = HEADER + yaml.safe_dump(ordered, sort_keys=True, default_flow_style=False)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in str(version).split("."))


def add(lock: dict[str, Any], component: str, version: str, arches: list[str]) -> None:
    artifacts = _artifacts()
    if component not in artifacts:
        raise ArtifactError(f"unknown component {component!r}; known: {', '.join(artifacts)}")
    slot = lock.setdefault(component, {}).setdefault(version, {})
    for arch in arches:
        url = artifacts[component].url_for(version, arch)
        slot.setdefault(f"linux-{arch}", {"url": url, "sha256": None})


def refresh(lock: dict[str, Any], selected: list[str], mirror: str | None) -> list[str]:
    """Fill in every selected entry's sha256 from its upstream checksum file."""
    artifacts = _artifacts()
    changed: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        fetched: dict[str, str] = {}
        for component, versions in sorted(lock.items()):
            for version, platforms in versions.items():
                if (
                    selected
                    and component not in selected
                    and f"{component}@{version}" not in selected
                ):
                    continue
                for platform, entry in platforms.items():
                    arch = platform.removeprefix("linux-")
                    checksums = artifacts[component].checksums_for(str(version), arch)
                    if checksums not in fetched:
                        dest = Path(scratch) / str(len(fetched))
                        fetch_url(mirrored(checksums, mirror), dest)
                        fetched[checksums] = dest.read_text()
                    filename = Path(urllib.parse.urlsplit(entry["url"]).path).name
                    sha = parse_checksums(fetched[checksums], filename)
                    if sha is None:
                        raise ArtifactError(f"{checksums}: has no checksum for {filename}")
                    if entry.get("sha256") != sha:
                        entry["sha256"] = sha
                        changed.append(f"{component} {version} {platform}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="obs-lock", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", type=Path, default=Path("artifacts.lock.yaml"))
    parser.add_argument("--mirror", help="read from <mirror>/<upstream host>/<path>")
    commands = parser.add_subparsers(dest="command", required=True)
    add_command = commands.add_parser("add", help="add lock entries for a version")
    add_command.add_argument("component")
    add_command.add_argument("version")
    add_command.add_argument("--arch", action="append", default=None)
    refresh_command = commands.add_parser("refresh", help="fill in sha256 from upstream")
    refresh_command.add_argument("only", nargs="*", metavar="COMPONENT[@VERSION]")
    commands.add_parser("check", help="exit 1 when any entry lacks its sha256")
    fetch_command = commands.add_parser("fetch", help="download and verify every artifact")
    fetch_command.add_argument("--cache", type=Path, default=Path(".cache/artifacts"))
    args = parser.parse_args(argv)

    try:
        lock = read(args.lock)
        if args.command == "add":
            add(lock, args.component, args.version, args.arch or ["amd64", "arm64"])
            write(args.lock, lock)
            print(
                f"{args.lock}: added {args.component} {args.version}; now run `obs-lock "
                f"refresh {args.component}@{args.version}`"
            )
        elif args.command == "check":
            missing = [
                f"{component} {version} {platform}"
                for component, versions in sorted(lock.items())
                for version, platforms in versions.items()
                for platform, entry in platforms.items()
                if not entry.get("sha256")
            ]
            if missing:
                print(
                    f"{args.lock}: {len(missing)} entries have no sha256 ({', '.join(missing)}); "
                    f"run `obs-lock refresh` (make lock) where the upstream release pages can "
                    f"be reached, or use `make demo ARTIFACTS=test`",
                    file=sys.stderr,
                )
                return 1
            print(f"{args.lock}: every entry has its sha256")
        elif args.command == "refresh":
            changed = refresh(lock, args.only, args.mirror)
            write(args.lock, lock)
            print(f"{args.lock}: {len(changed)} checksum(s) updated")
            for line in changed:
                print(f"  {line}")
        else:
            for component, versions in sorted(lock.items()):
                for version, platforms in versions.items():
                    for platform in platforms:
                        arch = platform.removeprefix("linux-")
                        url, sha = lock_entry(lock, str(args.lock), component, version, arch)
                        path = ensure_cached(
                            url,
                            sha,
                            args.cache,
                            offline=False,
                            mirror=args.mirror,
                            subdir=f"{component}/{version}",
                        )
                        print(f"{path}: verified")
    except ArtifactError as error:
        print(f"obs-lock: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
