"""Secrets: from the environment or a secrets file outside the repository, they reach only
files readable by root and the service's group, and never a unit, a command line, a
world-readable file or pyinfra's output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_support import PyinfraRun, assert_converged, clean_environment, run_pyinfra_cli
from testinfra.host import Host

SECRET_FILES = {
    "/etc/prometheus/secrets/backend_bearer_token": "prometheus",
    "/etc/grafana/secrets/admin_password": "grafana",
    "/etc/grafana/secrets/smtp_password": "grafana",
    "/etc/redis_exporter/secrets/passwords.json": "redis_exporter",
}
FROM_ENVIRONMENT = {
    "grafana_admin_password": "Env-Admin-Pw-4f8a1c",
    "grafana_smtp_password": "Env-Smtp-Pw-9b2e7d",
    "redis_password": "Env-Redis-Pw-31c9aa",
    "backend_bearer_token": "Env-Bearer-Tok-77d0e5",
}
FROM_FILE = {
    "grafana_admin_password": "File-Admin-Pw-0c6b3f",
    "grafana_smtp_password": "File-Smtp-Pw-d41e90",
    "redis_password": "File-Redis-Pw-5a7f12",
    "backend_bearer_token": "File-Bearer-Tok-e83c4b",
}

# Everywhere a secret must not appear, in one command: prints each place that holds one.
SEARCH = r"""
needles=$(mktemp); printf '%s\n' {values} > "$needles"
grep -lFf "$needles" /etc/systemd/system/*.service /lib/systemd/system/*.service 2>/dev/null
for u in $(systemctl list-units --all --plain --no-legend --type=service | awk '{{print $1}}'); do
  systemctl show "$u" | grep -qFf "$needles" && echo "systemctl show $u"
done
ps -eo args | grep -v grep | grep -Ff "$needles" | sed 's/^/ps: /'
find /etc /opt /var/lib /tmp /home -xdev -perm -o+r -type f ! -path "$needles" -print0 \
  2>/dev/null | xargs -0 -r grep -lFf "$needles"
rm -f "$needles"; true
"""


def _require_redis_password(host: Host, password: str, current: str = "") -> None:
    auth = f"-a {current} --no-auth-warning " if current else ""
    result = host.run(f"redis-cli {auth}CONFIG SET requirepass '{password}'")
    assert result.rc == 0 and "OK" in result.stdout, result.stdout + result.stderr


def _places_holding(host: Host, values: dict[str, str]) -> list[str]:
    quoted = " ".join(f"'{value}'" for value in values.values())
    return host.run("bash -c %s", SEARCH.format(values=quoted)).stdout.split("\n")


def _assert_secrets_placed(host: Host, values: dict[str, str], run: PyinfraRun) -> None:
    assert run.exit_code == 0, run.describe()
    for value in values.values():
        assert value not in run.output, "a secret is in pyinfra's output"
    leaks = [place for place in _places_holding(host, values) if place]
    assert not leaks, f"secrets found in: {leaks}"
    for path, group in SECRET_FILES.items():
        found = host.run(f"stat -c '%a %U %G' {path}").stdout.strip()
        assert found == f"640 root {group}", f"{path} is {found or 'absent'}"
    token = host.file("/etc/prometheus/secrets/backend_bearer_token").content_string
    assert token == values["backend_bearer_token"]
    assert (
        values["redis_password"]
        in host.file("/etc/redis_exporter/secrets/passwords.json").content_string
    )
    for unit in ("grafana", "redis_exporter", "prometheus"):
        assert host.service(unit).is_running, f"{unit} is not running with its secret"


@pytest.fixture(scope="module")
def runs(
    harness_state: dict[str, Any], safety_host: Host, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, PyinfraRun]:
    inventory = harness_state["inventory"]
    assert_converged(inventory, "before the secrets test")
    try:
        # The test host's Redis has no password; the exporter is only ready once it has one.
        _require_redis_password(safety_host, FROM_ENVIRONMENT["redis_password"])
        environment = clean_environment(
            **{f"GATEWAYZ_{key.upper()}": value for key, value in FROM_ENVIRONMENT.items()}
        )
        from_environment = run_pyinfra_cli(inventory, extra_args=["-vvv"], env=environment)
        places_env = _places_holding(safety_host, FROM_ENVIRONMENT)

        secrets_file = tmp_path_factory.mktemp("secrets") / "secrets.yaml"
        secrets_file.write_text("".join(f"{k}: {v}\n" for k, v in FROM_FILE.items()))
        secrets_file.chmod(0o600)
        _require_redis_password(
            safety_host, FROM_FILE["redis_password"], FROM_ENVIRONMENT["redis_password"]
        )
        from_file = run_pyinfra_cli(
            inventory, data={"secrets_file": str(secrets_file)}, extra_args=["-v"]
        )
        return {"environment": from_environment, "file": from_file, "places_env": places_env}
    finally:
        safety_host.run(
            f"redis-cli -a {FROM_FILE['redis_password']} --no-auth-warning "
            "CONFIG SET requirepass '' || "
            f"redis-cli -a {FROM_ENVIRONMENT['redis_password']} --no-auth-warning "
            "CONFIG SET requirepass ''"
        )


def test_secrets_from_the_environment_reach_only_their_protected_files(
    runs: dict[str, Any], safety_host: Host
) -> None:
    run = runs["environment"]
    assert run.exit_code == 0, run.describe()
    for value in FROM_ENVIRONMENT.values():
        assert value not in run.output, "a secret from the environment is in pyinfra's output"
    assert not [p for p in runs["places_env"] if p], f"secrets found in: {runs['places_env']}"


def test_secrets_from_a_secrets_file_replace_them_in_their_protected_files(
    runs: dict[str, Any], safety_host: Host
) -> None:
    _assert_secrets_placed(safety_host, FROM_FILE, runs["file"])


def test_without_secrets_their_files_are_removed_and_the_host_converges(
    runs: dict[str, Any], harness_state: dict[str, Any], safety_host: Host
) -> None:
    inventory = harness_state["inventory"]

    run = run_pyinfra_cli(inventory)

    assert run.exit_code == 0, run.describe()
    for path in SECRET_FILES:
        assert not safety_host.file(path).exists, f"{path} is left without its secret"
    assert safety_host.service("redis_exporter").is_running
    assert_converged(inventory, "after the secrets were removed")
    assert not Path(inventory).read_text().count("Pw-"), "a secret reached the inventory"
