"""Unit tests for the test artifact cache (tests/artifacts); they need a built cache."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.artifacts import (
    Entry,
    _tar_gz,
    _zip,
    debian_upstream_version,
    release_url,
)

CACHE = Path(os.environ.get("TEST_ARTIFACT_CACHE", ".cache/test-artifacts")).resolve()

needs_cache = pytest.mark.skipif(
    not (CACHE / "lock.yaml").exists(),
    reason=f"no artifact cache at {CACHE}; run `python -m tests.artifacts build` first",
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_entries() -> list[tuple[str, str, str, str]]:
    lock = yaml.safe_load((CACHE / "lock.yaml").read_text())
    return [
        (component, version, entry["url"], entry["sha256"])
        for component, versions in lock.items()
        for version, platforms in versions.items()
        for entry in platforms.values()
    ]


def test_debian_versions_lose_their_packaging_suffixes() -> None:
    assert debian_upstream_version("3.5.3+ds1-6") == "3.5.3"
    assert debian_upstream_version("1.86.0-1") == "1.86.0"
    assert debian_upstream_version("1:2.0~rc1-3") == "2.0"


def test_release_urls_follow_the_upstream_patterns() -> None:
    assert release_url("redis_exporter", "1.86.0", "amd64").endswith(
        "/v1.86.0/redis_exporter-v1.86.0.linux-amd64.tar.gz"
    )
    assert release_url("mimir", "2.11.0", "arm64").endswith("/mimir-2.11.0/mimir-linux-arm64")


def test_archives_are_byte_for_byte_reproducible(tmp_path: Path) -> None:
    entries = [Entry("top/"), Entry("top/bin", b"#!/bin/sh\n", 0o755)]
    for writer, suffix in ((_tar_gz, ".tar.gz"), (_zip, ".zip")):
        first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        writer(first, entries)
        writer(second, list(reversed(entries)))
        assert first.read_bytes() == second.read_bytes()


@needs_cache
def test_lock_sha256_matches_every_cached_artifact() -> None:
    entries = lock_entries()
    assert {component for component, *_ in entries} == {
        "prometheus",
        "redis_exporter",
        "mimir",
        "loki",
        "tempo",
        "grafana",
    }
    for _, _, url, digest in entries:
        assert sha256(CACHE / url.rsplit("/", 1)[1]) == digest, url


@needs_cache
def test_mirror_holds_each_artifact_with_a_matching_checksum_file() -> None:
    for component, _, url, digest in lock_entries():
        artifact = CACHE / "mirror" / url.split("://", 1)[1]
        assert sha256(artifact) == digest
        name = artifact.name
        if component in ("prometheus", "redis_exporter"):
            expected = (artifact.parent / "sha256sums.txt", f"{digest}  {name}\n")
        elif component in ("loki", "tempo"):
            expected = (artifact.parent / "SHA256SUMS", f"{digest}  {name}\n")
        elif component == "mimir":
            expected = (artifact.parent / f"{name}-sha-256", f"{digest}  {name}\n")
        else:
            expected = (artifact.parent / f"{name}.sha256", f"{digest}\n")
        assert expected[0].read_text() == expected[1]


@needs_cache
def test_archives_have_the_upstream_layout_and_executable_bits() -> None:
    data = json.loads((CACHE / "test-data.json").read_text())
    prometheus = f"prometheus-{data['prometheus_version']}.linux-amd64"
    with tarfile.open(CACHE / f"{prometheus}.tar.gz") as archive:
        assert archive.getmember(f"{prometheus}/promtool").mode == 0o755
        assert archive.getmember(f"{prometheus}/prometheus").mtime == 0
    with zipfile.ZipFile(CACHE / "loki-linux-amd64.zip") as archive:
        assert archive.namelist() == ["loki-linux-amd64"]
        assert (archive.getinfo("loki-linux-amd64").external_attr >> 16) & 0o111
    grafana = data["grafana_version"]
    with tarfile.open(CACHE / f"grafana-{grafana}.linux-amd64.tar.gz") as archive:
        script = archive.extractfile(f"grafana-v{grafana}/bin/grafana")
        assert script is not None
        assert f'STANDIN_VERSION = "{grafana}"'.encode() in script.read()


@needs_cache
def test_test_data_points_at_the_cache_and_the_lock() -> None:
    data = json.loads((CACHE / "test-data.json").read_text())
    assert data["artifact_offline"] is True
    assert Path(data["artifact_lock_file"]) == CACHE / "lock.yaml"
    assert (CACHE / "tools" / "promtool").stat().st_mode & 0o111
    assert (CACHE / "tools" / "amtool").stat().st_mode & 0o111
