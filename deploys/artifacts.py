"""Release artifacts, handled on the controller only.

Every artifact is named by a lock entry (component, version, architecture -> upstream URL
and sha256). It is downloaded once into the cache directory, checked against the lock,
unpacked, and repacked as the exact install tree a host receives. Hosts never download
anything and need no ``curl`` or ``unzip``; a tampered or truncated archive is refused
before any host is touched.

The lock is a YAML file::

    prometheus:
      "3.2.1":
        linux-amd64:
          url: https://github.com/prometheus/prometheus/releases/download/v3.2.1/...
          sha256: 9f1c...
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from deploys.errors import ArtifactError
from deploys.service import Install

Layout = Literal["tar.gz", "zip", "binary"]


@dataclass(frozen=True)
class Artifact:
    """How one project publishes its releases (STACK.md section 8).

    + url: URL template with ``{version}`` and ``{arch}``
    + checksums: URL template of the checksum file published beside it
    + layout: ``tar.gz``, ``zip`` or ``binary`` (a bare executable)
    + members: install path -> path inside the archive (templates); for a whole tree,
      ``{"": "<folder>"}`` takes everything under that folder
    + checked: install paths whose sha256 is compared with the host's on every run
    """

    component: str
    url: str
    checksums: str
    layout: Layout
    members: dict[str, str]
    checked: tuple[str, ...]

    def url_for(self, version: str, arch: str) -> str:
        return self.url.format(version=version, arch=arch)

    def checksums_for(self, version: str, arch: str) -> str:
        return self.checksums.format(version=version, arch=arch)


# -- the lock ----------------------------------------------------------------------------


def load_lock(path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read the lock file and merge entry-level overrides (from group data or ``--data``)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ArtifactError(f"{path}: cannot read the artifact lock: {error.strerror}") from None
    try:
        lock = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ArtifactError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(lock, dict):
        raise ArtifactError(f"{path}: the lock must map component names to versions")
    for component, versions in (overrides or {}).items():
        for version, arches in (versions or {}).items():
            for arch, entry in (arches or {}).items():
                slot = lock.setdefault(component, {}).setdefault(str(version), {})
                slot[arch] = {**slot.get(arch, {}), **entry}
    return lock


def lock_entry(
    lock: dict[str, Any], lock_name: str, component: str, version: str, arch: str
) -> tuple[str, str]:
    platform = f"linux-{arch}"
    entry = (lock.get(component) or {}).get(str(version), {}).get(platform)
    if not entry:
        raise ArtifactError(
            f"{lock_name}: no entry for {component} {version} ({platform}); add one with "
            f"`obs-lock add {component} {version}` and `obs-lock refresh`, or pick a "
            f"version the lock has: {', '.join(sorted(map(str, lock.get(component) or {})))}"
        )
    url, sha = entry.get("url"), entry.get("sha256")
    if not url:
        raise ArtifactError(f"{lock_name}: {component} {version} {platform} has no url")
    if not sha or len(str(sha)) != 64:
        raise ArtifactError(
            f"{lock_name}: {component} {version} {platform} has no sha256; run "
            f"`obs-lock refresh` where the upstream checksum files can be reached"
        )
    return str(url), str(sha).lower()


# -- the cache ---------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_sha256(path: Path) -> str:
    """sha256 of a cache file, remembered beside it so that a no-op run does not hash every
    archive again. The memo is keyed on size, mtime, ctime and inode: rewriting the file in
    place changes its ctime, which no tool can set back, so an edited file is hashed anew."""
    stat = path.stat()
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"
    memo = path.with_name(path.name + ".sha256-memo")
    try:
        known_stamp, known_sha = memo.read_text().split()
        if known_stamp == stamp:
            return known_sha
    except (OSError, ValueError):
        pass
    sha = file_sha256(path)
    memo.write_text(f"{stamp} {sha}\n")
    return sha


def mirrored(url: str, mirror: str | None) -> str:
    """``https://github.com/a/b`` with mirror ``http://m/x`` -> ``http://m/x/github.com/a/b``."""
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}"


def fetch_url(url: str, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        tmp.replace(dest)
    except (urllib.error.URLError, OSError) as error:
        tmp.unlink(missing_ok=True)
        raise ArtifactError(f"download of {url} failed: {error}") from None


@contextmanager
def cache_lock(cache_dir: Path) -> Iterator[None]:
    # Two pyinfra runs sharing a cache must not unpack the same archive at once
    # (ANCHORS: "parallel unpacking of one archive for many hosts races").
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_cached(
    url: str,
    sha256: str,
    cache_dir: Path,
    *,
    offline: bool,
    mirror: str | None,
    subdir: str = "",
) -> Path:
    """The verified archive in the cache, downloading it unless offline.

    Downloads go to ``<cache>/<subdir>/<upstream file name>``: Mimir's and Loki's names
    carry no version, so a flat folder could hold one release of each only. A file at
    ``<cache>/<upstream file name>`` (a folder filled by hand for an air-gapped site) is used
    when its sha256 matches.
    """
    filename = Path(urllib.parse.urlsplit(url).path).name
    path = cache_dir / subdir / filename
    flat = cache_dir / filename
    for candidate in dict.fromkeys((path, flat)):
        if candidate.exists() and cached_sha256(candidate) == sha256:
            return candidate
    if path.exists():
        if offline:
            raise ArtifactError(
                f"{path}: sha256 {cached_sha256(path)} does not match the lock ({sha256}); the "
                f"cached file is corrupt or was replaced, and offline mode forbids a fresh "
                f"download"
            )
        path.unlink()
    if offline:
        if flat.exists():
            raise ArtifactError(
                f"{flat}: sha256 {cached_sha256(flat)} does not match the lock ({sha256}); it "
                f"is corrupt or another release, and offline mode forbids a download"
            )
        raise ArtifactError(
            f"{path}: not in the cache and artifact_offline is set; put the file there or "
            f"allow downloads"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    source = mirrored(url, mirror)
    fetch_url(source, path)
    found = file_sha256(path)
    if found != sha256:
        path.unlink()
        raise ArtifactError(
            f"{source}: downloaded sha256 {found} does not match the lock ({sha256}); refusing it"
        )
    return path


# -- unpacking ---------------------------------------------------------------------------


def _read_members(archive: Path, layout: Layout) -> Iterator[tuple[str, int, bytes]]:
    """(path, mode, bytes) of every regular file in the archive."""
    if layout == "binary":
        yield archive.name, 0o755, archive.read_bytes()
    elif layout == "zip":
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist():
                if not info.is_dir():
                    mode = (info.external_attr >> 16) & 0o777 or 0o644
                    yield info.filename, mode, bundle.read(info)
    else:
        with tarfile.open(archive, "r:gz") as bundle:
            for member in bundle:
                if member.isfile():
                    handle = bundle.extractfile(member)
                    assert handle is not None
                    yield member.name.removeprefix("./"), member.mode & 0o777, handle.read()


def _select(artifact: Artifact, version: str, arch: str, name: str) -> str | None:
    """Install path of an archive member, or None when it is not installed."""
    for install_path, member in artifact.members.items():
        member = member.format(version=version, arch=arch)
        if install_path == "":
            prefix = member.rstrip("/") + "/"
            if name.startswith(prefix) and ".." not in name.split("/"):
                return name[len(prefix) :]
        elif name == member:
            return install_path
    return None


def build_install(
    artifact: Artifact, archive: Path, version: str, arch: str, cache_dir: Path, sha256: str
) -> Install:
    """Unpack ``archive`` into the install tree and its payload tar, once per archive."""
    key = f"{artifact.component}-{version}-linux-{arch}-{sha256[:16]}"
    tree_dir = cache_dir / "installs" / key
    meta_path = tree_dir / "install.json"
    if meta_path.exists() and not _payload_intact(tree_dir):
        # Built from a verified archive, then changed: build it again from the archive.
        shutil.rmtree(tree_dir)
    if not meta_path.exists():
        tree_dir.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=tree_dir.parent))
        try:
            _pack(artifact, archive, version, arch, building)
            try:
                building.rename(tree_dir)
            except OSError:
                shutil.rmtree(building)  # another run finished the same tree first
        except Exception:
            shutil.rmtree(building, ignore_errors=True)
            raise
    meta = json.loads(meta_path.read_text())
    return Install(
        version=version,
        payload=str(tree_dir / "payload.tar"),
        payload_sha256=meta["payload_sha256"],
        checked=meta["checked"],
    )


def _payload_intact(tree_dir: Path) -> bool:
    try:
        meta = json.loads((tree_dir / "install.json").read_text())
        return bool(cached_sha256(tree_dir / "payload.tar") == meta["payload_sha256"])
    except (OSError, ValueError, KeyError):
        return False


def _pack(artifact: Artifact, archive: Path, version: str, arch: str, into: Path) -> None:
    files: dict[str, tuple[int, bytes]] = {}
    try:
        for name, mode, data in _read_members(archive, artifact.layout):
            install_path = _select(artifact, version, arch, name)
            if install_path:
                files[install_path] = (mode, data)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise ArtifactError(f"{archive}: cannot unpack: {error}") from None
    missing = [p for p in artifact.checked if p not in files]
    if missing:
        raise ArtifactError(f"{archive}: does not contain {', '.join(missing)}")

    buffer = io.BytesIO()
    # A deterministic tar: same archive in, same payload bytes out.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as payload:
        directories = sorted({str(Path(p).parent) for p in files} - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            payload.addfile(info)
        for install_path in sorted(files):
            mode, data = files[install_path]
            info = tarfile.TarInfo(install_path)
            info.size, info.mode = len(data), mode
            payload.addfile(info, io.BytesIO(data))
    (into / "payload.tar").write_bytes(buffer.getvalue())
    checked = {p: hashlib.sha256(files[p][1]).hexdigest() for p in artifact.checked}
    meta = {"payload_sha256": hashlib.sha256(buffer.getvalue()).hexdigest(), "checked": checked}
    (into / "install.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def prepare_install(
    artifact: Artifact,
    version: str,
    arch: str,
    *,
    lock: dict[str, Any],
    lock_name: str,
    cache_dir: Path,
    offline: bool,
    mirror: str | None,
) -> Install:
    url, sha256 = lock_entry(lock, lock_name, artifact.component, version, arch)
    with cache_lock(cache_dir):
        archive = ensure_cached(
            url,
            sha256,
            cache_dir,
            offline=offline,
            mirror=mirror,
            subdir=f"{artifact.component}/{version}",
        )
        return build_install(artifact, archive, version, arch, cache_dir, sha256)


def parse_checksums(text: str, filename: str) -> str | None:
    """The sha256 for ``filename`` in a checksum file of any upstream convention: lines of
    ``<hex>  <name>`` (``sha256sums.txt``, ``SHA256SUMS``), or one bare digest (Grafana's
    ``.sha256``, Mimir's ``-sha-256``)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for bits in lines:
        if len(bits) >= 2 and bits[-1].lstrip("*").split("/")[-1] == filename:
            return bits[0].lower()
    # A bare digest: one line, one word (a line that names another file is no match).
    if len(lines) == 1 and len(lines[0]) == 1 and len(lines[0][0]) == 64:
        return lines[0][0].lower()
    return None
