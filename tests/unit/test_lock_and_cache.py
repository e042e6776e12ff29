"""The artifact lock and the controller-side cache, against a mirror served on 127.0.0.1.

The test artifact cache's mirror tree holds each project's archive beside its checksum
file in that project's own convention, so refresh and download run the real code paths.
"""

from __future__ import annotations

import copy
import functools
import shutil
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from deploys import lock as lock_cli
from deploys.artifacts import (
    build_install,
    ensure_cached,
    file_sha256,
    load_lock,
    parse_checksums,
    prepare_install,
)
from deploys.errors import ArtifactError
from deploys.orchestration import COMPONENTS

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "test-artifacts"
ARTIFACTS = {component.name: component.artifact for component in COMPONENTS}

pytestmark = pytest.mark.skipif(
    not (CACHE / "lock.yaml").exists(),
    reason="run `python -m tests.artifacts build --cache .cache/test-artifacts` first",
)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def mirror() -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(CACHE / "mirror"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def test_lock() -> dict:
    return yaml.safe_load((CACHE / "lock.yaml").read_text())


def entries(lock: dict) -> Iterator[tuple[str, str, str, dict]]:
    for component, versions in lock.items():
        for version, platforms in versions.items():
            for platform, entry in platforms.items():
                yield component, str(version), platform, entry


def test_refresh_fills_in_every_checksum_from_each_projects_own_checksum_file(test_lock, mirror):
    blank = copy.deepcopy(test_lock)
    for _, _, _, entry in entries(blank):
        entry["sha256"] = None
    changed = lock_cli.refresh(blank, [], mirror)
    assert len(changed) == 6
    assert blank == test_lock


def test_refresh_of_one_component_leaves_the_others_alone(test_lock, mirror):
    blank = copy.deepcopy(test_lock)
    for _, _, _, entry in entries(blank):
        entry["sha256"] = None
    lock_cli.refresh(blank, ["mimir"], mirror)
    filled = {c for c, _, _, entry in entries(blank) if entry["sha256"]}
    assert filled == {"mimir"}


def test_a_checksum_file_without_the_artifact_is_an_error_naming_both(test_lock, mirror, tmp_path):
    lock = copy.deepcopy(test_lock)
    for component, _, _, entry in entries(lock):
        if component == "loki":
            entry["url"] = entry["url"].replace("loki-linux-amd64.zip", "loki-linux-s390x.zip")
    with pytest.raises(ArtifactError, match=r"SHA256SUMS: has no checksum for loki-linux-s390x"):
        lock_cli.refresh(lock, ["loki"], mirror)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 64 + "  prometheus-3.5.3.linux-amd64.tar.gz\n", "a" * 64),
        ("b" * 64 + " *prometheus-3.5.3.linux-amd64.tar.gz\n", "b" * 64),
        ("c" * 64 + "\n", "c" * 64),
        ("d" * 64 + "  other.tar.gz\n" + "e" * 64 + "  x.tar.gz\n", None),
    ],
    ids=["sums-file", "binary-mode-star", "bare-digest", "absent"],
)
def test_checksum_files_of_every_convention_are_read(text, expected):
    assert parse_checksums(text, "prometheus-3.5.3.linux-amd64.tar.gz") == expected


def test_lock_add_writes_upstream_urls_for_each_architecture(tmp_path):
    lock: dict = {}
    lock_cli.add(lock, "tempo", "2.9.0", ["amd64", "arm64"])
    assert lock["tempo"]["2.9.0"]["linux-arm64"]["url"] == (
        "https://github.com/grafana/tempo/releases/download/v2.9.0/tempo_2.9.0_linux_arm64.tar.gz"
    )
    path = tmp_path / "lock.yaml"
    lock_cli.write(path, lock)
    assert load_lock(path) == lock


def test_a_missing_artifact_is_downloaded_from_the_mirror_and_verified(test_lock, mirror, tmp_path):
    url = test_lock["mimir"]["2.11.0"]["linux-amd64"]["url"]
    sha = test_lock["mimir"]["2.11.0"]["linux-amd64"]["sha256"]
    path = ensure_cached(url, sha, tmp_path, offline=False, mirror=mirror, subdir="mimir/2.11.0")
    assert path == tmp_path / "mimir/2.11.0/mimir-linux-amd64" and file_sha256(path) == sha


def test_two_releases_with_the_same_file_name_are_cached_side_by_side(test_lock, mirror, tmp_path):
    entry = test_lock["mimir"]["2.11.0"]["linux-amd64"]
    first = ensure_cached(
        entry["url"], entry["sha256"], tmp_path, offline=False, mirror=mirror, subdir="mimir/2.11.0"
    )
    other = tmp_path / "mimir/9.9.9/mimir-linux-amd64"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"#!/bin/sh\nexit 1\n")
    second = ensure_cached(
        "https://github.com/grafana/mimir/releases/download/mimir-9.9.9/mimir-linux-amd64",
        file_sha256(other),
        tmp_path,
        offline=True,
        mirror=None,
        subdir="mimir/9.9.9",
    )
    assert (first, second) == (tmp_path / "mimir/2.11.0/mimir-linux-amd64", other)
    again = ensure_cached(
        entry["url"], entry["sha256"], tmp_path, offline=True, mirror=None, subdir="mimir/2.11.0"
    )
    assert again == first


def test_a_cached_file_that_matches_is_used_without_any_download(test_lock, tmp_path):
    shutil.copy(CACHE / "mimir-linux-amd64", tmp_path)
    entry = test_lock["mimir"]["2.11.0"]["linux-amd64"]
    # No mirror and no network: offline mode proves nothing was fetched.
    path = ensure_cached(entry["url"], entry["sha256"], tmp_path, offline=True, mirror=None)
    assert path.read_bytes() == (CACHE / "mimir-linux-amd64").read_bytes()


def test_offline_mode_refuses_to_download_a_missing_artifact(test_lock, tmp_path):
    entry = test_lock["loki"]["3.4.2"]["linux-amd64"]
    with pytest.raises(
        ArtifactError,
        match=r"loki-linux-amd64.zip: not in the cache and "
        r"artifact_offline is set",
    ):
        ensure_cached(entry["url"], entry["sha256"], tmp_path, offline=True, mirror=None)


def test_a_tampered_cached_archive_is_refused_offline_naming_the_file(test_lock, tmp_path):
    tampered = tmp_path / "loki-linux-amd64.zip"
    data = bytearray((CACHE / "loki-linux-amd64.zip").read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    entry = test_lock["loki"]["3.4.2"]["linux-amd64"]
    with pytest.raises(ArtifactError, match=r"loki-linux-amd64.zip: sha256 .* does not match"):
        ensure_cached(entry["url"], entry["sha256"], tmp_path, offline=True, mirror=None)


def test_a_download_that_does_not_match_the_lock_is_refused_and_not_kept(
    test_lock, mirror, tmp_path
):
    entry = test_lock["tempo"]["2.6.1"]["linux-amd64"]
    with pytest.raises(ArtifactError, match=r"does not match the lock"):
        ensure_cached(entry["url"], "0" * 64, tmp_path, offline=False, mirror=mirror)
    assert not list(tmp_path.glob("tempo*"))


def test_an_unlocked_version_is_refused_naming_the_lock_and_the_versions_it_has(test_lock):
    with pytest.raises(ArtifactError, match=r"no entry for prometheus 9\.9\.9 .* 3\.5\.3"):
        prepare_install(
            ARTIFACTS["prometheus"],
            "9.9.9",
            "amd64",
            lock=test_lock,
            lock_name="lock.yaml",
            cache_dir=CACHE,
            offline=True,
            mirror=None,
        )


def test_a_lock_entry_without_sha256_is_refused_before_any_download(test_lock):
    lock = copy.deepcopy(test_lock)
    lock["tempo"]["2.6.1"]["linux-amd64"]["sha256"] = None
    with pytest.raises(ArtifactError, match=r"tempo 2\.6\.1 linux-amd64 has no sha256"):
        prepare_install(
            ARTIFACTS["tempo"],
            "2.6.1",
            "amd64",
            lock=lock,
            lock_name="lock.yaml",
            cache_dir=CACHE,
            offline=False,
            mirror="http://127.0.0.1:9",
        )


@pytest.mark.parametrize("component", sorted(ARTIFACTS))
def test_each_archive_unpacks_into_an_install_tree_holding_its_checked_files(
    test_lock, component, tmp_path
):
    ((version, platforms),) = test_lock[component].items()
    entry = platforms["linux-amd64"]
    archive = CACHE / Path(entry["url"]).name
    install = build_install(
        ARTIFACTS[component], archive, str(version), "amd64", tmp_path, entry["sha256"]
    )
    with tarfile.open(install.payload) as payload:
        names = set(payload.getnames())
        modes = {member.name: member.mode for member in payload.getmembers()}
    for checked in ARTIFACTS[component].checked:
        assert checked in names
        assert modes[checked] & 0o111, f"{checked} is not executable"
    again = build_install(
        ARTIFACTS[component], archive, str(version), "amd64", tmp_path, entry["sha256"]
    )
    assert again == install


def test_a_cached_archive_edited_in_place_with_its_mtime_restored_is_hashed_again(tmp_path):
    import os

    archive = tmp_path / "thing.tar.gz"
    archive.write_bytes(b"genuine bytes")
    sha = file_sha256(archive)
    url = "https://example.invalid/thing.tar.gz"
    assert ensure_cached(url, sha, tmp_path, offline=True, mirror=None) == archive
    stat = archive.stat()
    with archive.open("r+b") as handle:
        handle.write(b"G")
    os.utime(archive, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ArtifactError, match="does not match the lock"):
        ensure_cached(url, sha, tmp_path, offline=True, mirror=None)


def test_a_tampered_unpacked_payload_is_rebuilt_from_the_verified_archive(test_lock, tmp_path):
    entry = test_lock["mimir"]["2.11.0"]["linux-amd64"]
    archive = CACHE / "mimir-linux-amd64"
    install = build_install(
        ARTIFACTS["mimir"], archive, "2.11.0", "amd64", tmp_path, entry["sha256"]
    )
    Path(install.payload).write_bytes(b"not the payload")
    again = build_install(ARTIFACTS["mimir"], archive, "2.11.0", "amd64", tmp_path, entry["sha256"])
    assert file_sha256(Path(again.payload)) == install.payload_sha256
