"""The rendered files pass the checks of the programs that read them.

Mimir, Loki, Tempo and Grafana: the stand-in's strict key trees (``check_config``), which
reject every key the real release would reject. Prometheus: the real ``promtool``.

``promtool check config`` verifies that the files a config references exist: the rule
files its glob matches and the backend's credentials file. The rendered config names them
at their host paths under /etc/prometheus, so each check writes the host's rendered tree
into a temporary directory and points the config's /etc/prometheus/ paths there. That
checks the config together with the very rule files and secret it goes live with, which
``--syntax-only`` would skip.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.standin.standin import check_config
from tests.unit.conftest import ENVIRONMENTS, host_with
from tests.unit.test_render_prometheus import PROMETHEUS_2

PROMETHEUS_DIR = "/etc/prometheus"
RULES_TESTS = Path(__file__).resolve().parent / "rules_tests"
STANDIN_CHECKED = {
    "mimir": "/etc/mimir/mimir.yaml",
    "loki": "/etc/loki/loki.yaml",
    "tempo": "/etc/tempo/tempo.yaml",
    "grafana": "/etc/grafana/grafana.ini",
}
VARIANTS = {
    "default": {},
    "multitenant": {"mimir_multitenancy": True, "mimir_tenant": "gatewayz"},
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("program", STANDIN_CHECKED)
def test_storage_and_grafana_configs_hold_only_keys_their_program_accepts(
    render, env, program, variant
) -> None:
    rendered = render(env, **VARIANTS[variant])
    path = STANDIN_CHECKED[program]
    text = rendered[host_with(rendered, path)][path].decode()

    assert check_config(program, text) == []


def test_the_strict_check_would_reject_a_misplaced_key(render) -> None:
    rendered = render("dev")
    text = rendered[host_with(rendered, STANDIN_CHECKED["loki"])][STANDIN_CHECKED["loki"]]

    broken = text.decode().replace("  retention_period:", "  retention_perod:")

    assert check_config("loki", broken) != []


def write_host_tree(files: dict[str, bytes], root: Path) -> None:
    for path, content in files.items():
        target = root / PurePosixPath(path).relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def run(tool: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


@pytest.mark.parametrize("variant", [*VARIANTS, "prometheus-2"])
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_accepts_the_config_with_its_rule_files_and_secret(
    render, promtool, tmp_path, env, variant
) -> None:
    data = PROMETHEUS_2 if variant == "prometheus-2" else VARIANTS[variant]
    rendered = render(env, **data)
    files = rendered[host_with(rendered, f"{PROMETHEUS_DIR}/prometheus.yml")]
    write_host_tree(files, tmp_path)
    config_dir = tmp_path / "etc" / "prometheus"
    relocated = (
        (config_dir / "prometheus.yml").read_text().replace(f"{PROMETHEUS_DIR}/", f"{config_dir}/")
    )
    (config_dir / "checked.yml").write_text(relocated)

    result = run(promtool, "check", "config", str(config_dir / "checked.yml"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout, result.stdout


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_accepts_every_rule_file_with_all_lints_fatal(
    render, promtool, tmp_path, env
) -> None:
    rendered = render(env)
    files = rendered[host_with(rendered, f"{PROMETHEUS_DIR}/prometheus.yml")]
    write_host_tree(files, tmp_path)
    rule_files = sorted((tmp_path / "etc" / "prometheus" / "rules").glob("*.yml"))
    assert [f.name for f in rule_files] == ["alerts.yml", "recording.yml"]

    result = run(promtool, "check", "rules", "--lint=all", "--lint-fatal", *map(str, rule_files))

    assert result.returncode == 0, result.stdout + result.stderr


# -- promtool unit tests of the alert rules --------------------------------------------------


def alert_rules(render) -> dict[str, Any]:
    rendered = render("dev")
    path = f"{PROMETHEUS_DIR}/rules/alerts.yml"
    return yaml.safe_load(rendered[host_with(rendered, path)][path])


def rules_test_files() -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(RULES_TESTS.glob("*_test.yml"))}


def run_rule_tests(
    promtool: Path, directory: Path, rules: dict[str, Any], tests: dict[str, dict[str, Any]]
) -> subprocess.CompletedProcess[str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "alerts.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    for name, document in tests.items():
        (directory / name).write_text(yaml.safe_dump(document, sort_keys=False))
    return run(promtool, "test", "rules", *sorted(tests), cwd=directory)


def test_every_alert_has_a_firing_and_a_silent_case(render) -> None:
    cases: dict[str, set[str]] = {}
    for document in rules_test_files().values():
        for test in document["tests"]:
            for check in test.get("alert_rule_test", []):
                kind = "fires" if check["exp_alerts"] else "silent"
                cases.setdefault(check["alertname"], set()).add(kind)

    rendered_alerts = {
        rule["alert"] for group in alert_rules(render)["groups"] for rule in group["rules"]
    }
    assert set(cases) == rendered_alerts
    assert {name: kinds for name, kinds in cases.items() if kinds != {"fires", "silent"}} == {}


def test_promtool_unit_tests_of_the_alert_rules_pass(render, promtool, tmp_path) -> None:
    result = run_rule_tests(promtool, tmp_path, alert_rules(render), rules_test_files())

    assert result.returncode == 0, result.stdout + result.stderr


def only_checks(tests: dict[str, dict[str, Any]], alert: str, fires: bool) -> dict[str, Any]:
    """The unit tests reduced to the checks of one alert that expect it to fire (or not)."""
    kept: dict[str, dict[str, Any]] = {}
    for name, document in tests.items():
        selected = []
        for test in document["tests"]:
            checks = [
                c
                for c in test.get("alert_rule_test", [])
                if c["alertname"] == alert and bool(c["exp_alerts"]) == fires
            ]
            if checks:
                selected.append({**test, "alert_rule_test": checks})
        if selected:
            kept[name] = {**document, "tests": selected}
    return kept


def with_expression(rules: dict[str, Any], alert: str, expr: str) -> dict[str, Any]:
    changed = copy.deepcopy(rules)
    for group in changed["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = expr
    return changed


@pytest.mark.parametrize("fires", [True, False], ids=["firing-cases", "silent-cases"])
def test_the_unit_tests_fail_when_an_alert_loses_its_condition(
    render, promtool, tmp_path, fires
) -> None:
    # A firing case must notice a rule that never fires; a silent case must notice a rule
    # that always fires (with the labels of the series it watches, so only silence differs).
    rules = alert_rules(render)
    tests = rules_test_files()
    unnoticed = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            alert = rule["alert"]
            if fires:
                mutant = f"({rule['expr']}) > Inf"
            else:
                mutant = f"{_left_operand(rule['expr'])} > -Inf"
            reduced = only_checks(tests, alert, fires)
            assert reduced, f"{alert}: no {'firing' if fires else 'silent'} case"
            original = run_rule_tests(promtool, tmp_path / alert / "original", rules, reduced)
            assert original.returncode == 0, original.stdout + original.stderr
            result = run_rule_tests(
                promtool,
                tmp_path / alert / "mutant",
                with_expression(rules, alert, mutant),
                reduced,
            )
            if result.returncode == 0:
                unnoticed.append(f"{alert}: expr {mutant!r}")
    assert unnoticed == []


def _left_operand(expr: str) -> str:
    """The left side of an alert's top-level comparison: ``up{job="x"}`` of
    ``up{job="x"} == 0``. Brackets, braces and quoted strings are skipped over."""
    depth, quote = 0, ""
    for index, char in enumerate(expr):
        if quote:
            quote = "" if char == quote and expr[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in "<>=!" and expr[index + 1 : index + 2] != "~":
            return f"({expr[:index].strip()})"
    raise AssertionError(f"no top-level comparison in {expr!r}")
