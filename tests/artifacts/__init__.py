"""Build the offline artifact cache the tests install from.

The deploys download release artifacts from GitHub and Grafana's download site. Tests cannot
reach either, so this package builds a cache holding files named exactly like those release
artifacts:

- Prometheus, promtool, amtool and redis_exporter are the real programs, taken from Debian's
  unstable suite (fetched with `apt-get download` and a private sources list and state, so the
  machine's apt configuration is never touched) and repacked in the upstream archive layout.
- Mimir, Loki, Tempo and Grafana are the test stand-in (`tests/standin/standin.py`) with its
  version line rewritten, packed like the upstream releases.

Archives are byte-for-byte reproducible, so their sha256 is stable across rebuilds. Beside
them the cache holds `lock.yaml` (the project's lock format), a `mirror/` tree laid out as
`<host>/<url path>` with each project's checksum file, `tools/` (promtool and amtool for the
controller) and `test-data.json` (the pyinfra `--data` the tests pass).

Use: `python -m tests.artifacts build --cache .cache/test-artifacts`, or `build_cache(path)`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["STANDIN_VERSIONS", "build_cache", "debian_upstream_version", "release_url"]

logger = logging.getLogger("tests.artifacts")

REPO_ROOT = Path(__file__).resolve().parents[2]
STANDIN_SOURCE = REPO_ROOT / "tests" / "standin" / "standin.py"

# Versions the stand-ins claim to be; they match the defaults in the stack's spec.
STANDIN_VERSIONS = {"mimir": "2.11.0", "loki": "3.4.2", "tempo": "2.6.1", "grafana": "11.5.2"}

# Debian packages holding the real programs, and the binary each provides.
DEBIAN_PACKAGES = {
    "prometheus": "usr/bin/prometheus",
    "promtool": "usr/bin/promtool",
    "prometheus-alertmanager": "usr/bin/amtool",
    "prometheus-redis-exporter": "usr/bin/prometheus-redis-exporter",
}
DEBIAN_SOURCE = (
    "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    "http://deb.debian.org/debian unstable main\n"
)

URL_PATTERNS = {
    "prometheus": "https://github.com/prometheus/prometheus/releases/download/v{V}/"
    "prometheus-{V}.linux-{A}.tar.gz",
    "redis_exporter": "https://github.com/oliver006/redis_exporter/releases/download/v{V}/"
    "redis_exporter-v{V}.linux-{A}.tar.gz",
    "mimir": "https://github.com/grafana/mimir/releases/download/mimir-{V}/mimir-linux-{A}",
    "loki": "https://github.com/grafana/loki/releases/download/v{V}/loki-linux-{A}.zip",
    "tempo": "https://github.com/grafana/tempo/releases/download/v{V}/tempo_{V}_linux_{A}.tar.gz",
    "grafana": "https://dl.grafana.com/oss/release/grafana-{V}.linux-{A}.tar.gz",
}

# Bumped whenever the archive layout changes, so an old cache is rebuilt.
LAYOUT_VERSION = "1"

# A fixed timestamp keeps archives reproducible (zip cannot store dates before 1980).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def release_url(component: str, version: str, arch: str) -> str:
    """The upstream download URL of a component's release artifact.

    + component: prometheus, redis_exporter, mimir, loki, tempo or grafana
    + version: the release version without a leading v
    + arch: the Go architecture name (amd64, arm64)

    Example: release_url(component="loki", version="3.4.2", arch="amd64")
    """
    return URL_PATTERNS[component].format(V=version, A=arch)


def debian_upstream_version(debian_version: str) -> str:
    """The upstream part of a Debian version: "3.5.3+ds1-6" -> "3.5.3", "1:1.0-2" -> "1.0"."""
    version = debian_version.split(":", 1)[-1]
    version = version.rsplit("-", 1)[0] if "-" in version else version
    return re.split(r"[+~]", version, maxsplit=1)[0]


def dpkg_architecture() -> str:
    """The machine's Debian architecture name, which for our targets equals Go's name."""
    result = subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- Debian packages ------------------------------------------------------------------------


def _apt_options(state: Path) -> list[str]:
    return [
        f"-oDir::Etc::SourceList={state / 'sources.list'}",
        "-oDir::Etc::SourceParts=/dev/null",
        f"-oDir::State::Lists={state / 'lists'}",
        f"-oDir::Cache={state / 'cache'}",
        "-oDir::State::Status=/var/lib/dpkg/status",
        # The private download dir is not readable by the _apt sandbox user.
        "-oAPT::Sandbox::User=root",
        "-q",
    ]


def _find_debs(debs: Path, arch: str) -> dict[str, Path]:
    found = {}
    for package in DEBIAN_PACKAGES:
        candidates = sorted(debs.glob(f"{package}_*_{arch}.deb"))
        if candidates:
            found[package] = candidates[-1]
    return found


def fetch_debs(debs: Path, arch: str) -> dict[str, Path]:
    """Download the Debian unstable packages once; later builds reuse the .deb files."""
    found = _find_debs(debs, arch)
    if len(found) == len(DEBIAN_PACKAGES):
        return found
    state = debs / "apt"
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "sources.list").write_text(DEBIAN_SOURCE)
    options = _apt_options(state) + [f"-oAPT::Architecture={arch}"]
    logger.info("fetching %s from Debian unstable", ", ".join(DEBIAN_PACKAGES))
    subprocess.run(["apt-get", *options, "update"], check=True, capture_output=True)
    missing = [package for package in DEBIAN_PACKAGES if package not in found]
    subprocess.run(
        ["apt-get", *options, "download", *(f"{name}:{arch}" for name in missing)],
        check=True,
        capture_output=True,
        cwd=debs,
    )
    found = _find_debs(debs, arch)
    if len(found) != len(DEBIAN_PACKAGES):
        raise RuntimeError(f"apt-get download left packages missing in {debs}")
    return found


def _deb_version(deb: Path) -> str:
    result = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def _extract_binaries(debs: dict[str, Path], work: Path) -> dict[str, Path]:
    binaries = {}
    for package, inner in DEBIAN_PACKAGES.items():
        target = work / package
        subprocess.run(["dpkg-deb", "-x", str(debs[package]), str(target)], check=True)
        binaries[package] = target / inner
    return binaries


def _check_runs(binary: Path, *args: str) -> None:
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"{binary.name} {' '.join(args)} failed: {result.stderr.strip()}")


# --- Reproducible archives ------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One member of an archive: a directory (data None) or a file."""

    name: str
    data: bytes | None = None
    mode: int = 0o644


def _tar_gz(path: Path, entries: list[Entry]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for entry in sorted(entries, key=lambda item: item.name):
            info = tarfile.TarInfo(entry.name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if entry.data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            else:
                info.size = len(entry.data)
                info.mode = entry.mode
                archive.addfile(info, io.BytesIO(entry.data))
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as compressed,
    ):
        compressed.write(buffer.getvalue())


def _zip(path: Path, entries: list[Entry]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(entries, key=lambda item: item.name):
            info = zipfile.ZipInfo(entry.name, date_time=ZIP_DATE)
            info.create_system = 3
            info.external_attr = (0o100000 | entry.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.data or b"")


def _tree(top: str, files: dict[str, tuple[bytes, int]]) -> list[Entry]:
    """Entries for files under a top folder, with every parent directory listed once."""
    directories = {top}
    entries = []
    for relative, (data, mode) in files.items():
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            directories.add("/".join([top, *parts[:depth]]))
        entries.append(Entry(f"{top}/{relative}", data, mode))
    return entries + [Entry(name + "/") for name in directories]


def standin_bytes(version: str) -> bytes:
    """The stand-in's source with its version line set to version."""
    text = STANDIN_SOURCE.read_text()
    placeholder = 'STANDIN_VERSION = "0.0.0"'
    if placeholder not in text:
        raise RuntimeError(f"{STANDIN_SOURCE} lost its version placeholder line")
    return text.replace(placeholder, f'STANDIN_VERSION = "{version}"', 1).encode()


GRAFANA_DEFAULTS_INI = """\
# Stand-in defaults for tests; the real Grafana release ships its full defaults.ini here.
app_mode = production
instance_name = grafana

[paths]
data = data
logs = data/log
plugins = data/plugins
provisioning = conf/provisioning

[server]
protocol = http
http_addr =
http_port = 3000

[database]
type = sqlite3
path = grafana.db

[security]
admin_user = admin

[log]
mode = console
level = info
"""

GRAFANA_SERVER_WRAPPER = """\
#!/bin/sh
# Upstream ships grafana-server as a compatibility wrapper around `grafana server`.
exec "$(dirname "$0")/grafana" server "$@"
"""

PLACEHOLDER_HTML = b"<!doctype html><title>Grafana stand-in</title>\n"
STANDIN_LICENSE = b"Test stand-in, not Grafana Labs software. See tests/standin/standin.py.\n"


# --- Building -------------------------------------------------------------------------------


def _recipe(arch: str, debs: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{LAYOUT_VERSION} {arch} {sorted(STANDIN_VERSIONS.items())}".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(STANDIN_SOURCE.read_bytes())
    for package in sorted(debs):
        digest.update(debs[package].name.encode())
    return digest.hexdigest()


def _component_artifacts(
    arch: str, versions: dict[str, str], binaries: dict[str, Path]
) -> dict[str, tuple[str, list[Entry] | bytes]]:
    """Per component: artifact file name and its content (archive entries or a bare file)."""
    prometheus = f"prometheus-{versions['prometheus']}.linux-{arch}"
    redis = f"redis_exporter-v{versions['redis_exporter']}.linux-{arch}"
    grafana = f"grafana-v{versions['grafana']}"
    license_text = b"Apache License 2.0; see the upstream project.\n"
    return {
        "prometheus": (
            f"{prometheus}.tar.gz",
            _tree(
                prometheus,
                {
                    "prometheus": (binaries["prometheus"].read_bytes(), 0o755),
                    "promtool": (binaries["promtool"].read_bytes(), 0o755),
                    "LICENSE": (license_text, 0o644),
                    "NOTICE": (b"Repacked from Debian's prometheus package for tests.\n", 0o644),
                    "prometheus.yml": (b"scrape_configs: []\n", 0o644),
                },
            ),
        ),
        "redis_exporter": (
            f"{redis}.tar.gz",
            _tree(
                redis,
                {
                    "redis_exporter": (
                        binaries["prometheus-redis-exporter"].read_bytes(),
                        0o755,
                    ),
                    "LICENSE": (b"MIT License; see the upstream project.\n", 0o644),
                    "README.md": (b"Repacked from Debian for tests.\n", 0o644),
                },
            ),
        ),
        "mimir": (f"mimir-linux-{arch}", standin_bytes(versions["mimir"])),
        "loki": (
            f"loki-linux-{arch}.zip",
            [Entry(f"loki-linux-{arch}", standin_bytes(versions["loki"]), 0o755)],
        ),
        "tempo": (
            f"tempo_{versions['tempo']}_linux_{arch}.tar.gz",
            [
                Entry("tempo", standin_bytes(versions["tempo"]), 0o755),
                Entry("README.md", b"Tempo test stand-in; see tests/standin/standin.py.\n"),
            ],
        ),
        "grafana": (
            f"grafana-{versions['grafana']}.linux-{arch}.tar.gz",
            _tree(
                grafana,
                {
                    "bin/grafana": (standin_bytes(versions["grafana"]), 0o755),
                    "bin/grafana-server": (GRAFANA_SERVER_WRAPPER.encode(), 0o755),
                    "conf/defaults.ini": (GRAFANA_DEFAULTS_INI.encode(), 0o644),
                    "public/build/index.html": (PLACEHOLDER_HTML, 0o644),
                    "public/views/index.html": (PLACEHOLDER_HTML, 0o644),
                    "LICENSE": (STANDIN_LICENSE, 0o644),
                },
            ),
        ),
    }


def _write_artifact(path: Path, content: list[Entry] | bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    if isinstance(content, bytes):
        partial.write_bytes(content)
        partial.chmod(0o755)
    elif path.name.endswith(".zip"):
        _zip(partial, content)
    else:
        _tar_gz(partial, content)
    partial.replace(path)


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _checksum_files(component: str, name: str, digest: str) -> dict[str, str]:
    """The checksum file(s) each project publishes beside an artifact, by file name."""
    if component in ("prometheus", "redis_exporter"):
        return {"sha256sums.txt": f"{digest}  {name}\n"}
    if component in ("loki", "tempo"):
        return {"SHA256SUMS": f"{digest}  {name}\n"}
    if component == "mimir":
        return {f"{name}-sha-256": f"{digest}  {name}\n"}
    return {f"{name}.sha256": f"{digest}\n"}


def _write_mirror(cache: Path, lock: dict[str, Any], files: dict[str, Path]) -> None:
    mirror = cache / "mirror"
    if mirror.exists():
        shutil.rmtree(mirror)
    for component, by_version in lock.items():
        for entries in by_version.values():
            for entry in entries.values():
                url = entry["url"].split("://", 1)[1]
                target = mirror / url
                _link(files[component], target)
                for name, text in _checksum_files(component, target.name, entry["sha256"]).items():
                    (target.parent / name).write_text(text)


def render_lock(lock: dict[str, Any]) -> str:
    """Render the lock in the project's format, quoting versions so "3.10" stays a string."""
    lines = []
    for component in sorted(lock):
        lines.append(f"{component}:")
        for version in sorted(lock[component]):
            lines.append(f'  "{version}":')
            for platform in sorted(lock[component][version]):
                entry = lock[component][version][platform]
                lines += [
                    f"    {platform}:",
                    f"      url: {entry['url']}",
                    f"      sha256: {entry['sha256']}",
                ]
    return "\n".join(lines) + "\n"


def _test_data(cache: Path, versions: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "artifact_offline": True,
        "artifact_cache_dir": str(cache),
        "artifact_lock_file": str(cache / "lock.yaml"),
    }
    data.update({f"{component}_version": version for component, version in versions.items()})
    return data


def build_cache(cache: Path, arch: str | None = None) -> dict[str, Any]:
    """Build (or reuse) the artifact cache and return the pyinfra test data for it.

    + cache: the cache directory; Debian packages are kept in `<cache>/../debs`
    + arch: Go architecture name; defaults to this machine's (`dpkg --print-architecture`)

    Example: build_cache(cache=Path(".cache/test-artifacts"), arch="amd64")
    """
    cache = cache.resolve()
    arch = arch or dpkg_architecture()
    debs_dir = cache.parent / "debs"
    debs_dir.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)

    debs = fetch_debs(debs_dir, arch)
    recipe = _recipe(arch, debs)
    stamp = cache / f"recipe-{arch}.json"
    data_file = cache / "test-data.json"
    if stamp.exists() and data_file.exists():
        recorded = json.loads(stamp.read_text())
        if recorded.get("recipe") == recipe and all(
            (cache / name).exists() for name in recorded.get("files", [])
        ):
            logger.debug("artifact cache %s is up to date", cache)
            return json.loads(data_file.read_text())

    versions = {
        "prometheus": debian_upstream_version(_deb_version(debs["prometheus"])),
        "redis_exporter": debian_upstream_version(_deb_version(debs["prometheus-redis-exporter"])),
        **STANDIN_VERSIONS,
    }
    with tempfile.TemporaryDirectory(prefix="debs-", dir=cache) as work:
        binaries = _extract_binaries(debs, Path(work))
        _check_runs(binaries["prometheus"], "--version")
        _check_runs(binaries["promtool"], "--version")
        _check_runs(binaries["prometheus-alertmanager"], "--version")
        _check_runs(binaries["prometheus-redis-exporter"], "-version")

        tools = cache / "tools"
        tools.mkdir(exist_ok=True)
        for package, tool in (("promtool", "promtool"), ("prometheus-alertmanager", "amtool")):
            shutil.copyfile(binaries[package], tools / tool)
            (tools / tool).chmod(0o755)

        lock: dict[str, Any] = {}
        files: dict[str, Path] = {}
        artifacts = _component_artifacts(arch, versions, binaries)
        for component, (name, content) in artifacts.items():
            path = cache / name
            _write_artifact(path, content)
            files[component] = path
            version = versions[component]
            lock[component] = {
                version: {
                    f"linux-{arch}": {
                        "url": release_url(component, version, arch),
                        "sha256": _sha256(path),
                    }
                }
            }
            logger.info("built %s %s as %s", component, version, name)

    (cache / "lock.yaml").write_text(render_lock(lock))
    _write_mirror(cache, lock, files)
    data = _test_data(cache, versions)
    data_file.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    stamp.write_text(
        json.dumps({"recipe": recipe, "files": sorted(path.name for path in files.values())})
    )
    return data
