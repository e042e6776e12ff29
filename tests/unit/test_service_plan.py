"""The shared mechanism's planner: host state in, what to do out. Each case states the
host's facts and the expected plan; a converged host must plan nothing."""

from __future__ import annotations

import copy

import pytest

from deploys.service import (
    Install,
    ManagedDir,
    ManagedFile,
    PathState,
    Probe,
    ServiceSpec,
    ServiceState,
    ServiceStateFact,
    _activation,
    inspected_paths,
    plan,
    sha256_hex,
)

CONFIG = ManagedFile("/etc/demo/demo.yml", b"a: 1\n", check="{install}/demo check {path}")
RULE = ManagedFile("/etc/demo/rules/a.yml", b"groups: []\n")
SECRET = ManagedFile("/etc/demo/secrets/token", b"s3cr3t", effect="none", secret=True)


def make_spec(*, reloadable: bool = True, files: tuple[ManagedFile, ...] = (CONFIG, RULE)):
    return ServiceSpec(
        name="demo",
        install=Install("1.2.3", "/nonexistent/payload.tar", "ab" * 32, {"demo": "cd" * 32}),
        unit=b"[Unit]\n",
        files=files,
        dirs=(ManagedDir("/etc/demo/rules", "root", "demo", "750", prune=True),),
        reloadable=reloadable,
        ready=Probe(9999, "/ready"),
    )


def converged(spec: ServiceSpec) -> ServiceState:
    """The facts a host reports once `spec` is fully applied."""
    paths: dict[str, PathState] = {}
    for directory in spec.all_dirs():
        paths[directory.path] = PathState("dir", directory.mode, directory.owner, directory.group)
    paths["/opt/demo/current"] = PathState("link", target="1.2.3")
    paths["/opt/demo/1.2.3"] = PathState("dir", "755", "root", "root")
    marker = sha256_hex(f"{spec.install.payload_sha256}\n".encode())
    paths["/opt/demo/1.2.3/.payload-sha256"] = PathState("file", "644", "root", "root", marker)
    for rel, sha in spec.install.checked.items():
        paths[f"/opt/demo/1.2.3/{rel}"] = PathState("file", "755", "root", "root", sha)
    paths[spec.unit_path] = PathState("file", "644", "root", "root", sha256_hex(spec.unit))
    for managed in (*spec.files, spec.manifest()):
        paths[managed.path] = PathState("file", managed.mode, managed.owner, "demo", managed.sha256)
    return ServiceState(
        user=("/var/lib/demo", "/usr/sbin/nologin"),
        group_exists=True,
        paths=paths,
        unit={"ActiveState": "active", "UnitFileState": "enabled", "NeedDaemonReload": "no"},
        manifest=sorted(f.path for f in spec.files),
        pending="",
        listed={"/etc/demo/rules": [RULE.path]},
    )


def test_a_converged_host_plans_nothing():
    spec = make_spec()
    assert plan(spec, converged(spec)).empty


def test_a_changed_config_reloads_a_service_that_can_reload():
    spec = make_spec()
    state = converged(spec)
    state.paths[CONFIG.path].sha256 = "0" * 64
    todo = plan(spec, state)
    assert [f.path for f in todo.files] == [CONFIG.path]
    assert todo.action == "reload"


def test_a_changed_config_restarts_a_service_that_cannot_reload():
    spec = make_spec(reloadable=False)
    state = converged(spec)
    state.paths[CONFIG.path].sha256 = "0" * 64
    assert plan(spec, state).action == "restart"


def test_a_changed_unit_restarts_and_replaces_the_unit():
    spec = make_spec()
    state = converged(spec)
    state.paths[spec.unit_path].sha256 = "0" * 64
    todo = plan(spec, state)
    assert todo.unit and todo.action == "restart"


def test_a_replaced_binary_is_reinstalled_and_restarts_the_service():
    spec = make_spec()
    state = converged(spec)
    state.paths["/opt/demo/1.2.3/demo"].sha256 = "0" * 64
    todo = plan(spec, state)
    assert todo.install and todo.action == "restart"
    assert not todo.switch_link


def test_a_new_version_switches_the_stable_path():
    spec = make_spec()
    state = converged(spec)
    state.paths["/opt/demo/current"] = PathState("link", target="1.2.2")
    todo = plan(spec, state)
    assert todo.switch_link and todo.action == "restart"


def test_a_directory_with_the_wrong_mode_is_fixed_without_touching_the_service():
    spec = make_spec()
    state = converged(spec)
    state.paths["/etc/demo"].mode = "755"
    todo = plan(spec, state)
    assert [d.path for d in todo.dirs] == ["/etc/demo"]
    assert todo.action == "none" and not todo.start


def test_a_file_with_the_wrong_owner_gets_its_attributes_back_only():
    spec = make_spec()
    state = converged(spec)
    state.paths[CONFIG.path].owner = "nobody"
    todo = plan(spec, state)
    assert [f.path for f in todo.attributes] == [CONFIG.path]
    assert not todo.files and todo.action == "none"


def test_a_stopped_service_is_started_and_a_disabled_one_enabled():
    spec = make_spec()
    state = converged(spec)
    state.unit.update(ActiveState="inactive", UnitFileState="disabled")
    todo = plan(spec, state)
    assert todo.start and todo.enable and todo.action == "none"


def test_an_interrupted_run_owes_the_restart_it_did_not_finish():
    spec = make_spec()
    state = converged(spec)
    state.pending = "restart"
    assert plan(spec, state).action == "restart"


def test_a_new_secret_is_placed_without_restarting_when_the_program_rereads_it():
    spec = make_spec(files=(CONFIG, RULE, SECRET))
    state = converged(spec)
    del state.paths[SECRET.path]
    todo = plan(spec, state)
    assert [f.path for f in todo.secrets] == [SECRET.path]
    assert todo.action == "none"
    assert "s3cr3t" not in " ".join(todo.reasons)


def test_a_file_the_data_no_longer_lists_is_pruned():
    spec = make_spec(files=(CONFIG,))
    state = converged(make_spec())
    todo = plan(spec, state)
    assert todo.prune == [RULE.path]
    assert todo.action == "reload"


def test_a_file_the_deploy_never_wrote_is_left_alone():
    spec = make_spec()
    state = converged(spec)
    state.listed["/etc/demo/rules"].append("/etc/demo/rules/mine.yml")
    assert plan(spec, state).empty


def test_a_missing_user_is_created_without_a_home_under_home():
    spec = make_spec()
    state = converged(spec)
    state.user = None
    todo = plan(spec, state)
    assert todo.user_command is not None
    assert "--no-create-home" in todo.user_command and "/usr/sbin/nologin" in todo.user_command


def test_the_activation_backs_up_before_replacing_and_rolls_back_on_failure():
    spec = make_spec()
    state = converged(spec)
    state.paths[CONFIG.path].sha256 = "0" * 64
    script = _activation(spec, plan(spec, state))
    assert script.index("cp -a /etc/demo/demo.yml") < script.index("mv -f /etc/demo/.staged")
    assert "systemctl reload demo.service" in script
    assert "rolling back" in script and "exit 1" in script


def test_the_state_fact_parses_every_kind_of_line():
    lines = [
        "user /var/lib/demo:/usr/sbin/nologin",
        "group demo",
        "dir /etc/demo 750:root:demo",
        "file /etc/demo/demo.yml 640:root:demo " + "e" * 64,
        "link /opt/demo/current 1.2.3",
        "absent /etc/demo/.staged",
        "unit ActiveState=active",
        "manifest /etc/demo/demo.yml",
        "pending reload",
        "listed /etc/demo/rules /etc/demo/rules/a.yml",
    ]
    state = ServiceStateFact().process(lines)
    assert state.user == ("/var/lib/demo", "/usr/sbin/nologin") and state.group_exists
    assert state.paths["/etc/demo/demo.yml"].sha256 == "e" * 64
    assert state.paths["/opt/demo/current"].target == "1.2.3"
    assert state.paths["/etc/demo/.staged"].kind == "absent"
    assert state.unit == {"ActiveState": "active"}
    assert state.manifest == ["/etc/demo/demo.yml"] and state.pending == "reload"
    assert state.listed == {"/etc/demo/rules": ["/etc/demo/rules/a.yml"]}


def test_the_state_fact_inspects_every_managed_path_in_one_command():
    spec = make_spec()
    paths = inspected_paths(spec)
    command = ServiceStateFact().command(service="demo", paths=paths, pruned_dirs=[])
    for path in (CONFIG.path, RULE.path, spec.unit_path, "/opt/demo/current"):
        assert f"s {path}" in command


@pytest.mark.parametrize("effect", ["reload", "restart"])
def test_a_plan_is_not_changed_by_planning_twice(effect):
    spec = make_spec(reloadable=effect == "reload")
    state = converged(spec)
    state.paths[CONFIG.path].sha256 = "0" * 64
    first = plan(spec, copy.deepcopy(state))
    second = plan(spec, copy.deepcopy(state))
    assert (
        (first.action, first.reasons) == (second.action, second.reasons) == (effect, first.reasons)
    )


def test_old_install_trees_are_removed_keeping_the_wanted_one_and_one_previous():
    spec = make_spec()
    state = converged(spec)
    state.trees = {"1.2.3": 30.0, "1.2.2": 20.0, "1.2.1": 10.0, ".1.2.4.new": 40.0}
    todo = plan(spec, state)
    assert todo.old_trees == ["/opt/demo/.1.2.4.new", "/opt/demo/1.2.1"]
    assert todo.action == "none"


def test_during_a_switch_the_tree_current_points_at_is_the_one_kept():
    spec = make_spec()
    state = converged(spec)
    state.paths["/opt/demo/current"] = PathState("link", target="1.2.1")
    state.trees = {"1.2.2": 20.0, "1.2.1": 10.0}
    assert plan(spec, state).old_trees == ["/opt/demo/1.2.2"]


def test_a_host_with_the_wanted_tree_and_one_previous_plans_nothing():
    spec = make_spec()
    state = converged(spec)
    state.trees = {"1.2.3": 30.0, "1.2.2": 20.0}
    assert plan(spec, state).empty


def test_a_binary_or_unit_with_the_wrong_mode_is_fixed_without_a_restart():
    spec = make_spec()
    state = converged(spec)
    state.paths["/opt/demo/1.2.3/demo"].mode = "777"
    state.paths["/opt/demo/1.2.3"].owner = "nobody"
    state.paths[spec.unit_path].group = "nogroup"
    todo = plan(spec, state)
    assert todo.install_attributes == ["/opt/demo/1.2.3", "/opt/demo/1.2.3/demo", spec.unit_path]
    assert not todo.install and not todo.unit and todo.action == "none"


def test_a_file_in_a_folder_the_data_no_longer_names_is_pruned():
    spec = make_spec(files=(CONFIG,))
    state = converged(make_spec())
    state.manifest.append("/etc/demo/rules/team-a/one.yml")
    state.listed["/etc/demo/rules"].append("/etc/demo/rules/team-a/one.yml")
    todo = plan(spec, state)
    assert todo.prune == [RULE.path, "/etc/demo/rules/team-a/one.yml"]
    script = _activation(spec, todo)
    assert "rmdir /etc/demo/rules/team-a" in script


def test_pruning_needs_only_what_its_folder_says():
    quiet = ManagedDir("/etc/demo/rules", "root", "demo", "750", prune=True, prune_effect="none")
    spec = ServiceSpec(**{**make_spec(files=(CONFIG,)).__dict__, "dirs": (quiet,)})
    todo = plan(spec, converged(make_spec()))
    assert todo.prune == [RULE.path] and todo.action == "none"
