"""Refused input: every bad value stops the run before any host is touched, with a message
that names the key and where it came from.

Each case runs the real pyinfra CLI against the scenario's host and compares a snapshot of the
host (every stack config file and unit file, install links, MainPIDs) taken before and after.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e_support import (
    REPOSITORY_ROOT,
    host_snapshot,
    load_test_data,
    run_pyinfra_cli,
    snapshot_difference,
)
from testinfra.host import Host

# Files a case needs are made in its temporary directory; {tmp} in data and expectations is
# replaced by that directory, {cache} by the test artifact cache, {repo} by the repository.


def _flip_one_byte(cache: Path, tmp: Path) -> None:
    _copy_cache(cache, tmp / "cache")
    archive = tmp / "cache" / "tempo_2.6.1_linux_amd64.tar.gz"
    archive.unlink()
    content = bytearray((cache / archive.name).read_bytes())
    content[len(content) // 2] ^= 0x01
    archive.write_bytes(bytes(content))


def _without_loki(cache: Path, tmp: Path) -> None:
    _copy_cache(cache, tmp / "cache")
    (tmp / "cache" / "loki-linux-amd64.zip").unlink()


def _copy_cache(cache: Path, into: Path) -> None:
    """A cache of symbolic links to the test artifacts (no unpacked trees, no memos)."""
    into.mkdir()
    for path in cache.iterdir():
        if path.is_file() and not path.name.endswith(".sha256-memo"):
            (into / path.name).symlink_to(path)


def _lock_not_yaml(cache: Path, tmp: Path) -> None:
    (tmp / "lock.yaml").write_text('prometheus: {"3.5.3": [unclosed\n')


def _secrets_file(content: str) -> Callable[[Path, Path], None]:
    def write(cache: Path, tmp: Path) -> None:
        (tmp / "secrets.yaml").write_text(content)

    return write


@dataclass(frozen=True)
class BadInput:
    """One refused input.

    + data: `--data` over the test data
    + host_data: data added to the host in a temporary copy of the scenario's inventory
    + expected: text the error output must contain (it names the key and its source)
    + prepare: writes the files the case refers to into its temporary directory
    """

    name: str
    expected: str
    data: dict[str, Any] = field(default_factory=dict)
    host_data: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Path, Path], None] | None = None

    def __str__(self) -> str:
        return self.name


CASES = (
    BadInput(
        "an unknown key, with the closest known key suggested",
        "--data: loki_htp_port: unknown key (did you mean loki_http_port?)",
        data={"loki_htp_port": 3100},
    ),
    BadInput(
        "a port that is not a number",
        "--data: loki_http_port: expected a TCP port number (1-65535), got 'high'",
        data={"loki_http_port": "high"},
    ),
    BadInput(
        "a port out of range",
        "--data: grafana_port: expected a TCP port number (1-65535), got 70000",
        data={"grafana_port": 70000},
    ),
    BadInput(
        "a boolean that is a word",
        "--data: artifact_offline: expected true or false, got 'sometimes'",
        data={"artifact_offline": "sometimes"},
    ),
    BadInput(
        "a duration written in words",
        "--data: loki_retention: expected a duration such as 30s, 15m, 720h or 15d, got '30 days'",
        data={"loki_retention": "30 days"},
    ),
    BadInput(
        "a version that is not a release number",
        "--data: tempo_version: expected a release version such as 3.2.1, got 'latest'",
        data={"tempo_version": "latest"},
    ),
    BadInput(
        "a list given as a single string",
        "--data: tempo_span_metrics_dimensions: expected a list of one-line strings, got 'service'",
        data={"tempo_span_metrics_dimensions": "service"},
    ),
    BadInput(
        "two components on one port of a host",
        "obs-safety: tempo_http_port (--data) and loki_http_port (its default) both claim port "
        "3100",
        data={"tempo_http_port": 3100},
    ),
    BadInput(
        "a secret given as data",
        "--data: grafana_admin_password: is a secret and must not be in data; set "
        "GATEWAYZ_GRAFANA_ADMIN_PASSWORD or put it in the secrets_file",
        data={"grafana_admin_password": "x"},
    ),
    BadInput(
        "a tenant without multitenancy",
        "obs-safety: mimir_tenant: is 'team-a' but mimir_multitenancy is off",
        data={"mimir_tenant": "team-a"},
    ),
    BadInput(
        "a version the lock has no entry for",
        "obs-safety: loki_version: 9.9.9 has no entry in {cache}/lock.yaml (it has: 3.4.2)",
        data={"loki_version": "9.9.9"},
    ),
    BadInput(
        "a lock entry without a checksum",
        "{cache}/lock.yaml: loki 3.4.2 linux-amd64 has no sha256; run `obs-lock refresh`",
        data={"artifact_lock": {"loki": {"3.4.2": {"linux-amd64": {"sha256": ""}}}}},
    ),
    BadInput(
        "a cached archive whose sha256 differs from the lock, offline",
        "{tmp}/cache/tempo_2.6.1_linux_amd64.tar.gz: sha256 ",
        data={"artifact_cache_dir": "{tmp}/cache"},
        prepare=_flip_one_byte,
    ),
    BadInput(
        "a cached archive that is missing, offline",
        "{tmp}/cache/loki/3.4.2/loki-linux-amd64.zip: not in the cache and artifact_offline is set",
        data={"artifact_cache_dir": "{tmp}/cache"},
        prepare=_without_loki,
    ),
    BadInput(
        "a lock file that does not exist",
        "{tmp}/missing.lock.yaml: cannot read the artifact lock: No such file or directory",
        data={"artifact_lock_file": "{tmp}/missing.lock.yaml"},
    ),
    BadInput(
        "a lock file that is not YAML",
        "{tmp}/lock.yaml: not valid YAML",
        data={"artifact_lock_file": "{tmp}/lock.yaml"},
        prepare=_lock_not_yaml,
    ),
    BadInput(
        "a backend scheme other than http or https",
        "--data: backend_scheme: expected one of http, https, got 'ftp'",
        data={"backend_scheme": "ftp"},
    ),
    BadInput(
        "an extra scrape config without a job name",
        "--data: prometheus_extra_scrape_configs: expected a list of scrape_config mappings",
        data={"prometheus_extra_scrape_configs": [{"static_configs": [{"targets": ["a:1"]}]}]},
    ),
    BadInput(
        "a secrets file inside the repository",
        "secrets_file: {repo}/group_data/secrets.yaml is inside the repository",
        data={"secrets_file": "{repo}/group_data/secrets.yaml"},
    ),
    BadInput(
        "a secrets file with a key that is not a secret",
        "{tmp}/secrets.yaml: grafana_admin_pasword: not a secret this stack reads",
        data={"secrets_file": "{tmp}/secrets.yaml"},
        prepare=_secrets_file("grafana_admin_pasword: x\n"),
    ),
    BadInput(
        "a secrets file that is not a mapping",
        "secrets_file: {tmp}/secrets.yaml: must map secret names to values",
        data={"secrets_file": "{tmp}/secrets.yaml"},
        prepare=_secrets_file("- grafana_admin_password\n"),
    ),
    BadInput(
        "a secrets file that does not exist",
        "secrets_file: {tmp}/absent.yaml: cannot read it",
        data={"secrets_file": "{tmp}/absent.yaml"},
    ),
    BadInput(
        "a mirror URL that is not http, https or file",
        "--data: artifact_mirror_url: expected an http(s) or file URL, or None, "
        "got 'ftp://mirror.example'",
        data={"artifact_mirror_url": "ftp://mirror.example"},
    ),
    BadInput(
        "an unknown key in host data",
        "the inventory (host obs-safety): loki_retension: unknown key "
        "(did you mean loki_retention?)",
        host_data={"loki_retension": "720h"},
    ),
    BadInput(
        "a port of the wrong type in host data",
        "the inventory (host obs-safety): prometheus_port: expected a TCP port number "
        "(1-65535), got '9090'",
        host_data={"prometheus_port": "9090"},
    ),
    BadInput(
        "a secret in host data",
        "the inventory (host obs-safety): redis_password: is a secret and must not be in data",
        host_data={"redis_password": "hunter2"},
    ),
)


def _substitute(value: Any, replacements: dict[str, str]) -> Any:
    text = json.dumps(value)
    for marker, replacement in replacements.items():
        text = text.replace(marker, replacement)
    return json.loads(text)


def inventory_with_host_data(inventory: Path, host_data: dict[str, Any], into: Path) -> Path:
    """A copy of the scenario's inventory whose hosts carry `host_data` too. It is named like
    the original, so that pyinfra applies the same environment's group data."""
    copy = into / inventory.name
    copy.write_text(
        inventory.read_text()
        + "\n# added by the safety tests\n"
        + f"for _name, _data in all:\n    _data.update({host_data!r})\n"
    )
    return copy


@pytest.fixture(scope="module")
def converged_snapshot(harness_state: dict[str, Any], hosts: dict[str, Host]) -> dict[str, str]:
    host = hosts["obs-safety"]
    run = run_pyinfra_cli(harness_state["inventory"])
    assert run.exit_code == 0 and run.changed == 0, "the host is not converged" + run.describe()
    return host_snapshot(host)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_naming_the_key_and_its_source_and_no_host_changes(
    case: BadInput,
    harness_state: dict[str, Any],
    hosts: dict[str, Host],
    converged_snapshot: dict[str, str],
    tmp_path: Path,
) -> None:
    cache = Path(load_test_data()["artifact_cache_dir"])
    replacements = {"{tmp}": str(tmp_path), "{cache}": str(cache), "{repo}": str(REPOSITORY_ROOT)}
    if case.prepare:
        case.prepare(cache, tmp_path)
    inventory = Path(harness_state["inventory"])
    if case.host_data:
        inventory = inventory_with_host_data(inventory, case.host_data, tmp_path)

    run = run_pyinfra_cli(inventory, data=_substitute(case.data, replacements))

    expected = _substitute(case.expected, replacements)
    assert run.exit_code != 0, "the run was not refused" + run.describe()
    assert expected in run.stderr, f"expected {expected!r} in the error" + run.describe()
    assert "refused before changing any host" in run.stderr or "Starting operation" not in (
        run.stderr
    ), "operations started before the refusal" + run.describe()
    changes = snapshot_difference(converged_snapshot, host_snapshot(hosts["obs-safety"]))
    assert not changes, "the refused run changed the host:\n" + "\n".join(changes)
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


def test_after_the_refused_inputs_the_host_is_still_converged(
    harness_state: dict[str, Any], converged_snapshot: dict[str, str]
) -> None:
    run = run_pyinfra_cli(harness_state["inventory"])

    assert run.exit_code == 0, run.describe()
    assert run.changed == 0, "a refused run left something to repair" + run.describe()
