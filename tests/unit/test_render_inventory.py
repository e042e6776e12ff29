"""Rendering without hosts: the inventory loader, render_inventory and ``obs-render``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploys.compose import load_inventory_file, main, render_inventory
from deploys.errors import ArtifactError, DataError
from tests.unit.conftest import ENVIRONMENTS, INVENTORIES, REPO_ROOT

# Runs in a subprocess: importing pyinfra_cli patches the whole process with gevent.
CLI_INVENTORY = """
import json, sys
from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory
ctx_state.set(State())
inventory = make_inventory(sys.argv[1], cwd=sys.argv[2])
print(json.dumps({
    host.name: {"groups": list(host.groups), "data": host.data.dict()}
    for host in inventory
}, sort_keys=True, default=repr))
"""


def describe(inventory) -> dict:
    return json.loads(
        json.dumps(
            {
                host.name: {"groups": list(host.groups), "data": host.data.dict()}
                for host in inventory
            },
            sort_keys=True,
            default=repr,
        )
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_inventories_load_as_the_pyinfra_cli_loads_them(env) -> None:
    path = INVENTORIES / f"{env}.py"
    result = subprocess.run(
        [sys.executable, "-c", CLI_INVENTORY, str(path), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        timeout=120,
    )

    ours = describe(load_inventory_file(path, REPO_ROOT).inventory())

    assert ours == json.loads(result.stdout)


def test_rendering_leaves_the_process_without_gevent_patches() -> None:
    probe = (
        "from pathlib import Path; from deploys.compose import render_inventory; "
        "render_inventory(Path('inventories/dev.py')); "
        "import sys, gevent.monkey as m; "
        "print(any(m.is_module_patched(x) for x in ('socket', 'threading', 'time')), "
        "'pyinfra_cli' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        timeout=120,
    )

    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rendering_twice_gives_identical_bytes(render, env, secrets_file) -> None:
    data = {} if env == "dev" else {"secrets_file": str(secrets_file)}

    again = render_inventory(INVENTORIES / f"{env}.py", data, cwd=REPO_ROOT)

    assert again == render(env)


def test_every_file_starts_with_the_managed_header(render) -> None:
    for env in ENVIRONMENTS:
        for host, files in render(env).items():
            for path, content in files.items():
                # Secrets are the secret alone; JSON has no comments.
                if "/secrets/" in path or path.endswith(".json"):
                    continue
                first = content.decode().splitlines()[0]
                assert first == "# managed by gatewayz-observability; local edits are replaced", (
                    f"{env} {host}:{path}"
                )


def test_each_host_gets_the_files_of_its_role_groups_only(render) -> None:
    dev = render("dev")
    prod = render("prod")

    assert list(dev) == ["gatewayz-sandbox"]
    units = {p for p in dev["gatewayz-sandbox"] if p.startswith("/etc/systemd/")}
    assert units == {
        f"/etc/systemd/system/{name}.service"
        for name in ("prometheus", "mimir", "loki", "tempo", "redis_exporter", "grafana")
    }
    assert sorted(prod["cache-1"]) == [
        "/etc/redis_exporter/secrets/passwords.json",
        "/etc/systemd/system/redis_exporter.service",
    ]
    assert json.loads(prod["cache-1"]["/etc/redis_exporter/secrets/passwords.json"]) == {
        "redis://127.0.0.1:6379": "test-redis-password"
    }


def test_data_the_deploy_would_refuse_is_refused_before_rendering() -> None:
    with pytest.raises(DataError, match="prometheus_retention: expected a duration"):
        render_inventory(
            INVENTORIES / "dev.py", {"prometheus_retention": "two weeks"}, cwd=REPO_ROOT
        )
    with pytest.raises(DataError, match="unknown key"):
        render_inventory(INVENTORIES / "dev.py", {"prometheus_retension": "15d"}, cwd=REPO_ROOT)


def test_a_version_without_a_lock_entry_is_refused() -> None:
    with pytest.raises(ArtifactError, match="prometheus_version: 2.53.3 has no entry"):
        render_inventory(INVENTORIES / "dev.py", {"prometheus_version": "2.53.3"}, cwd=REPO_ROOT)


def test_obs_render_writes_every_file_under_its_host_directory(render, tmp_path) -> None:
    out = tmp_path / "rendered"

    assert main(["inventories/dev.py", "--out", str(out)]) == 0

    written = {
        "/" + str(path.relative_to(out / "gatewayz-sandbox")): path.read_bytes()
        for path in (out / "gatewayz-sandbox").rglob("*")
        if path.is_file()
    }
    assert written == render("dev")["gatewayz-sandbox"]
    # Directories the deploy keeps are there even when empty (bind mounts expect them).
    assert (out / "gatewayz-sandbox/etc/grafana/dashboards").is_dir()


def test_obs_render_replaces_what_an_earlier_run_left(tmp_path) -> None:
    stale = tmp_path / "gatewayz-sandbox/etc/prometheus/rules/old.yml"
    stale.parent.mkdir(parents=True)
    stale.write_text("groups: []\n")

    assert main(["inventories/dev.py", "--out", str(tmp_path)]) == 0

    assert not stale.exists()
    assert (tmp_path / "gatewayz-sandbox/etc/prometheus/rules/alerts.yml").is_file()


def test_obs_render_passes_data_and_writes_secrets_private(tmp_path, secrets_file) -> None:
    out = tmp_path / "rendered"

    status = main(
        [
            "inventories/prod.py",
            "--out",
            str(out),
            "--data",
            f"secrets_file={secrets_file}",
            "--data",
            "prometheus_retention=30d",
        ]
    )

    assert status == 0
    token = out / "prometheus-1/etc/prometheus/secrets/backend_bearer_token"
    assert token.read_text() == "test-bearer-token"
    assert token.stat().st_mode & 0o777 == 0o600
    unit = (out / "prometheus-1/etc/systemd/system/prometheus.service").read_text()
    assert "--storage.tsdb.retention.time=30d" in unit


def test_obs_render_reports_refused_data_and_exits_1(tmp_path, capsys) -> None:
    status = main(["inventories/dev.py", "--out", str(tmp_path), "--data", "grafana_port=0"])

    assert status == 1
    assert "grafana_port: expected a TCP port" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_obs_render_is_the_installed_entry_point() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()

    assert 'obs-render = "deploys.compose:main"' in pyproject


def test_compose_mode_gives_each_component_a_host_named_after_its_service(render) -> None:
    rendered = render("dev", compose=True)

    assert sorted(rendered) == ["grafana", "loki", "mimir", "prometheus", "redis-exporter", "tempo"]
    assert Path("/etc/prometheus/prometheus.yml").as_posix() in rendered["prometheus"]
    assert sorted(rendered["mimir"]) == [
        "/etc/mimir/mimir.yaml",
        "/etc/systemd/system/mimir.service",
    ]
