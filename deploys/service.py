"""The one mechanism every component uses: a program from a release artifact, run as a
hardened systemd service by a user of its own.

A component module describes *what* it needs as a :class:`ServiceSpec` (files, directories,
the install tree, the unit, how to check a config and how to tell the service is ready).
This module decides *how*: one fact reads the whole state of the service on the host in a
single command, and the operation issues commands only for what differs. A converged host
therefore costs one round trip per component and runs no command at all.

Host layout for a component ``C`` at version ``V``::

    /opt/C/V/                  the install tree, never modified in place
    /opt/C/current -> V        stable path the unit runs, switched atomically
    /etc/C/                    configuration (root:C, 0750), files 0640
    /etc/C/.staged/            rendered files waiting for their check
    /etc/C/.last-good/         what the last activation replaced, for rollback
    /etc/C/.pending            action an interrupted run still owes (restart|reload)
    /var/lib/C/                data (C:C, 0750)
    /etc/systemd/system/C.service
"""

from __future__ import annotations

import hashlib
import os
import shlex
import uuid
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import PurePosixPath
from typing import Literal

from pyinfra import host, logger
from pyinfra.api import FactBase, FileUploadCommand, StringCommand, operation

Effect = Literal["none", "reload", "restart"]
_EFFECT_RANK: dict[str, int] = {"none": 0, "reload": 1, "restart": 2}

HEADER = "managed by gatewayz-observability; local edits are replaced"
NOLOGIN = "/usr/sbin/nologin"
# Relative to the SSH user's home, which is where both SFTP and the sudo'd copy start.
PRIVATE_UPLOADS = ".gatewayz-observability-uploads"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ManagedFile:
    """A file the deploy owns under the component's config directory.

    + path: absolute path on the host, under ``/etc/<component>/``
    + content: exact bytes
    + mode: octal mode without leading zero, as ``stat -c %a`` prints it
    + owner: owning user; group is always the component's group
    + check: shell command that must accept the staged file before it goes live; ``{path}``
      is the staged file, ``{install}`` the new install tree; run as the service user
    + effect: what a change of this file needs from the running service
    + secret: never shown in diffs or logs; placed before any check, since checks may
      require the file to exist at its live path
    """

    path: str
    content: bytes
    mode: str = "640"
    owner: str = "root"
    check: str | None = None
    effect: Effect = "reload"
    secret: bool = False

    @property
    def sha256(self) -> str:
        return sha256_hex(self.content)


@dataclass(frozen=True)
class ManagedDir:
    """A directory the deploy keeps with this owner and mode.

    + prune: files below it that an earlier run wrote and the data no longer lists are
      removed; files the deploy never wrote are left alone
    + prune_effect: what removing such a file needs from the running service
    """

    path: str
    owner: str
    group: str
    mode: str
    prune: bool = False
    prune_effect: Effect = "reload"


@dataclass(frozen=True)
class Probe:
    """An HTTP check on ``127.0.0.1:port``.

    + expect: an extended regular expression the response (headers and body) must match
    + reloaded_metric: for a reload, a metric holding the Unix time of the last successful
      reload; ready once it is at least the time the reload was asked for
    """

    port: int
    path: str
    expect: str | None = None
    reloaded_metric: str | None = None


@dataclass(frozen=True)
class Install:
    """An install tree prepared on the controller (see ``deploys.artifacts``).

    + version: the directory name under ``/opt/<component>/``
    + payload: local tar of the whole tree, pushed only when the host's copy differs
    + payload_sha256: digest recorded on the host in ``.payload-sha256``
    + checked: relative path -> sha256 of the files compared on every run (the binaries)
    """

    version: str
    payload: str
    payload_sha256: str
    checked: dict[str, str]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    install: Install
    unit: bytes
    files: tuple[ManagedFile, ...]
    dirs: tuple[ManagedDir, ...] = ()
    reloadable: bool = False
    ready: Probe | None = None
    reload_ready: Probe | None = None
    ready_timeout: int = 120
    data_dir: str = ""
    extra_groups: tuple[str, ...] = field(default=())

    @property
    def config_dir(self) -> str:
        return f"/etc/{self.name}"

    @property
    def install_root(self) -> str:
        return f"/opt/{self.name}"

    @property
    def install_dir(self) -> str:
        return f"{self.install_root}/{self.install.version}"

    @property
    def unit_path(self) -> str:
        return f"/etc/systemd/system/{self.name}.service"

    @property
    def manifest_path(self) -> str:
        return f"{self.config_dir}/.managed-files"

    def all_dirs(self) -> tuple[ManagedDir, ...]:
        base = (
            ManagedDir(self.install_root, "root", "root", "755"),
            ManagedDir(self.config_dir, "root", self.name, "750"),
            ManagedDir(self.data_dir or f"/var/lib/{self.name}", self.name, self.name, "750"),
        )
        return base + self.dirs

    def manifest(self) -> ManagedFile:
        # The manifest is how pruning tells our files from foreign ones (ANCHORS: "managed
        # files pruned by ownership; foreign files kept").
        listed = "".join(f"{f.path}\n" for f in sorted(self.files, key=lambda f: f.path))
        return ManagedFile(self.manifest_path, listed.encode(), effect="none")


# -- reading the host ------------------------------------------------------------------


@dataclass
class PathState:
    kind: Literal["file", "dir", "link", "absent"]
    mode: str = ""
    owner: str = ""
    group: str = ""
    sha256: str = ""
    target: str = ""


@dataclass
class ServiceState:
    user: tuple[str, str] | None  # (home, shell) of the service user, None when absent
    group_exists: bool
    paths: dict[str, PathState]
    unit: dict[str, str]
    manifest: list[str]
    pending: str
    listed: dict[str, list[str]]
    trees: dict[str, float] = field(default_factory=dict)


_STAT_FUNCTION = r"""s() {
  if [ -L "$1" ]; then printf 'link %s %s\n' "$1" "$(readlink "$1")"
  elif [ -f "$1" ]; then printf 'file %s %s %s\n' "$1" "$(stat -c '%a:%U:%G' "$1")" \
    "$(sha256sum "$1" | cut -c1-64)"
  elif [ -d "$1" ]; then printf 'dir %s %s\n' "$1" "$(stat -c '%a:%U:%G' "$1")"
  else printf 'absent %s\n' "$1"; fi
}"""


class ServiceStateFact(FactBase):
    """The whole state of one service on a host, read with a single command: its user and
    group, every managed path (type, mode, owner, group, sha256 or link target), the
    unit's activity and enablement, the manifest of files an earlier run wrote, the
    action an interrupted run still owes, and the files present in pruned directories.
    """

    def command(  # type: ignore[override]
        self, service: str, paths: list[str], pruned_dirs: list[str]
    ) -> str:
        name = service
        q = shlex.quote
        lines = [_STAT_FUNCTION]
        lines.append(
            f"printf 'user %s\\n' \"$(getent passwd {q(name)} | cut -d: -f6,7)\"; "
            f"printf 'group %s\\n' \"$(getent group {q(name)} | cut -d: -f1)\""
        )
        lines.extend(f"s {q(p)}" for p in paths)
        lines.append(
            f"systemctl show -p ActiveState -p UnitFileState -p MainPID -p NeedDaemonReload "
            f"-p LoadState {q(name + '.service')} 2>/dev/null | sed 's/^/unit /'"
        )
        # Install trees are the folders carrying our marker, and our half-built ones; any
        # other folder under /opt/<name> is not ours to remove.
        lines.append(
            f"[ -d /opt/{name} ] && find /opt/{name} -mindepth 1 -maxdepth 1 -type d "
            f"\\( -name '.*.new' -o -exec test -f {{}}/.payload-sha256 \\; \\) "
            f"-printf 'tree %T@ %f\\n'"
        )
        config_dir = f"/etc/{name}"
        lines.append(
            f"[ -f {config_dir}/.managed-files ] && sed 's/^/manifest /' "
            f"{config_dir}/.managed-files"
        )
        lines.append(f"[ -f {config_dir}/.pending ] && sed 's/^/pending /' {config_dir}/.pending")
        for directory in pruned_dirs:
            lines.append(
                f"[ -d {q(directory)} ] && find {q(directory)} -type f "
                f"-printf 'listed {directory} %p\\n'"
            )
        lines.append("true")
        return "\n".join(lines)

    def process(self, output: list[str]) -> ServiceState:  # type: ignore[override]
        state = ServiceState(None, False, {}, {}, [], "", {})
        for line in output:
            word, _, rest = line.partition(" ")
            if word == "user":
                if rest:
                    home, _, shell = rest.partition(":")
                    state.user = (home, shell)
            elif word == "group":
                state.group_exists = bool(rest)
            elif word in ("file", "dir", "link", "absent"):
                state.paths.update([_parse_path(word, rest)])
            elif word == "unit":
                key, _, value = rest.partition("=")
                state.unit[key] = value
            elif word == "manifest":
                state.manifest.append(rest)
            elif word == "pending":
                state.pending = rest.strip()
            elif word == "tree":
                stamp, _, tree = rest.partition(" ")
                state.trees[tree] = float(stamp)
            elif word == "listed":
                directory, _, path = rest.partition(" ")
                state.listed.setdefault(directory, []).append(path)
        return state


def _parse_path(kind: str, rest: str) -> tuple[str, PathState]:
    bits = rest.split(" ")
    path = bits[0]
    if kind == "absent":
        return path, PathState("absent")
    if kind == "link":
        return path, PathState("link", target=bits[1] if len(bits) > 1 else "")
    mode, owner, group = bits[1].split(":")
    sha = bits[2] if kind == "file" and len(bits) > 2 else ""
    return path, PathState(kind, mode, owner, group, sha)  # type: ignore[arg-type]


def inspected_paths(spec: ServiceSpec) -> list[str]:
    paths = [d.path for d in spec.all_dirs()]
    paths.append(f"{spec.install_root}/current")
    paths.append(spec.install_dir)
    paths.append(f"{spec.install_dir}/.payload-sha256")
    paths.extend(f"{spec.install_dir}/{rel}" for rel in sorted(spec.install.checked))
    paths.append(spec.unit_path)
    paths.append(f"{spec.config_dir}/.staged")
    paths.extend(f.path for f in spec.files)
    paths.append(spec.manifest_path)
    return paths


# -- planning ----------------------------------------------------------------------------


@dataclass
class Plan:
    """What differs between the spec and the host, and what the service needs after."""

    create_group: bool = False
    user_command: str | None = None
    dirs: list[ManagedDir] = field(default_factory=list)
    clean_staging: bool = False
    install: bool = False
    switch_link: bool = False
    unit: bool = False
    secrets: list[ManagedFile] = field(default_factory=list)
    files: list[ManagedFile] = field(default_factory=list)
    attributes: list[ManagedFile] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)
    old_trees: list[str] = field(default_factory=list)
    install_attributes: list[str] = field(default_factory=list)
    enable: bool = False
    action: Effect = "none"
    start: bool = False
    reasons: list[str] = field(default_factory=list)

    def note(self, reason: str) -> None:
        self.reasons.append(reason)

    def needs(self, effect: Effect, reason: str) -> None:
        self.reasons.append(reason)
        if _EFFECT_RANK[effect] > _EFFECT_RANK[self.action]:
            self.action = effect

    @property
    def empty(self) -> bool:
        return not (
            self.create_group
            or self.user_command
            or self.dirs
            or self.clean_staging
            or self.install
            or self.switch_link
            or self.unit
            or self.secrets
            or self.files
            or self.attributes
            or self.prune
            or self.old_trees
            or self.install_attributes
            or self.enable
            or self.start
            or self.action != "none"
        )


def plan(spec: ServiceSpec, state: ServiceState) -> Plan:
    result = Plan()
    name = spec.name
    paths = state.paths

    def path(p: str) -> PathState:
        return paths.get(p, PathState("absent"))

    data_dir = spec.data_dir or f"/var/lib/{name}"
    if not state.group_exists:
        result.create_group = True
        result.note(f"group {name} is missing")
    if state.user is None:
        result.note(f"user {name} is missing")
        result.user_command = (
            f"useradd --system --gid {name} --home-dir {data_dir} --no-create-home "
            f"--shell {NOLOGIN} {name}"
        )
    elif state.user != (data_dir, NOLOGIN):
        result.note(f"user {name} has home and shell {':'.join(state.user)}")
        result.user_command = f"usermod --home {data_dir} --shell {NOLOGIN} {name}"

    for directory in spec.all_dirs():
        found = path(directory.path)
        wanted = (directory.mode, directory.owner, directory.group)
        if found.kind != "dir" or (found.mode, found.owner, found.group) != wanted:
            result.dirs.append(directory)
            result.note(
                f"directory {directory.path} is "
                + (
                    f"{found.mode} {found.owner}:{found.group}"
                    if found.kind == "dir"
                    else found.kind
                )
            )

    if path(f"{spec.config_dir}/.staged").kind != "absent":
        result.clean_staging = True
        result.note("an interrupted run left staged files")

    marker = path(f"{spec.install_dir}/.payload-sha256")
    expected_marker = sha256_hex(f"{spec.install.payload_sha256}\n".encode())
    binaries_differ = any(
        path(f"{spec.install_dir}/{rel}").sha256 != sha for rel, sha in spec.install.checked.items()
    )
    if marker.sha256 != expected_marker or binaries_differ:
        result.install = True
        result.needs("restart", f"install tree {spec.install_dir} differs")
    else:
        # Same bytes, other owner or mode: put them back; the running program is unchanged.
        for rel in ("", *sorted(spec.install.checked)):
            target = f"{spec.install_dir}/{rel}".rstrip("/")
            found = path(target)
            if (found.mode, found.owner, found.group) != ("755", "root", "root"):
                result.install_attributes.append(target)
                result.note(f"{target} is {found.mode} {found.owner}:{found.group}")
    if path(f"{spec.install_root}/current").target != spec.install.version:
        result.switch_link = True
        result.needs("restart", f"{spec.install_root}/current is not {spec.install.version}")

    # Keep the wanted tree and one other -- the one `current` points at before a switch,
    # else the newest -- for a manual rollback; remove the rest and any half-built tree.
    current = path(f"{spec.install_root}/current").target
    others = {t: stamp for t, stamp in state.trees.items() if t != spec.install.version}
    if current in others:
        kept = current
    else:
        kept = max(
            (t for t in others if not t.startswith(".")), key=lambda t: others[t], default=""
        )
    for tree in sorted(others):
        if tree != kept:
            result.old_trees.append(f"{spec.install_root}/{tree}")
            result.note(f"old install tree {spec.install_root}/{tree}")

    unit = path(spec.unit_path)
    if unit.sha256 != sha256_hex(spec.unit):
        result.unit = True
        result.needs("restart", f"unit {spec.unit_path} differs")
    elif (unit.mode, unit.owner, unit.group) != ("644", "root", "root"):
        # systemd reads the same unit either way: fix the attributes, restart nothing.
        result.install_attributes.append(spec.unit_path)
        result.note(f"{spec.unit_path} is {unit.mode} {unit.owner}:{unit.group}")
    elif state.unit.get("NeedDaemonReload") == "yes":
        result.unit = True
        result.needs("restart", "systemd holds an older copy of the unit")

    for managed in (*spec.files, spec.manifest()):
        found = path(managed.path)
        if found.sha256 != managed.sha256:
            (result.secrets if managed.secret else result.files).append(managed)
            if managed.effect != "none":
                effect: Effect = managed.effect
                if effect == "reload" and not spec.reloadable:
                    effect = "restart"
                result.needs(effect, f"{managed.path} differs")
            else:
                result.note(f"{managed.path} differs")
        elif (found.mode, found.owner, found.group) != (managed.mode, managed.owner, name):
            result.attributes.append(managed)
            result.note(f"{managed.path} is {found.mode} {found.owner}:{found.group}")

    wanted_paths = {f.path for f in spec.files}
    pruned = [d for d in spec.all_dirs() if d.prune]
    present = {p for paths_listed in state.listed.values() for p in paths_listed}
    for listed_path in sorted(set(state.manifest) - wanted_paths):
        # The deepest pruned folder holding it decides what its removal needs.
        holders = [d for d in pruned if listed_path.startswith(d.path + "/")]
        if holders and listed_path in present:
            holder = max(holders, key=lambda d: len(d.path))
            result.prune.append(listed_path)
            prune_effect: Effect = holder.prune_effect
            if prune_effect == "reload" and not spec.reloadable:
                prune_effect = "restart"
            result.needs(prune_effect, f"{listed_path} is no longer managed")

    if state.pending == "reload" or state.pending == "restart":
        owed: Effect = "reload" if state.pending == "reload" else "restart"
        result.needs(owed, f"an interrupted run left the service to be {owed}ed")

    if state.unit.get("UnitFileState") != "enabled":
        result.enable = True
        result.note(f"unit is {state.unit.get('UnitFileState') or 'not installed'}")
    if state.unit.get("ActiveState") != "active":
        result.start = True
        result.note(f"service is {state.unit.get('ActiveState') or 'not installed'}")
    return result


def summary(todo: Plan, most: int = 4) -> str:
    """The plan's reasons on one line: a first install says so, a long list is cut unless
    GATEWAYZ_REASONS=all (obs-drift sets it)."""
    if os.environ.get("GATEWAYZ_REASONS") == "all":
        return "; ".join(todo.reasons)
    if todo.user_command and todo.user_command.startswith("useradd") and todo.install:
        return f"not installed yet: installing ({len(todo.reasons)} differences)"
    shown = todo.reasons[:most]
    more = len(todo.reasons) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more else "")


# -- commands ----------------------------------------------------------------------------


def _probe_script(spec: ServiceSpec, probe: Probe, since_var: str | None) -> str:
    """Bash that polls ``probe`` until it passes or ``ready_timeout`` runs out. Uses bash's
    /dev/tcp so that targets need neither curl nor python."""
    check = ""
    if probe.expect:
        check = f" && printf '%s' \"$r\" | grep -Eq {shlex.quote(probe.expect)}"
    if probe.reloaded_metric and since_var:
        check += (
            f' && printf \'%s\' "$r" | awk -v t="${since_var}" '
            f"-v m='^{probe.reloaded_metric} ' "
            "'BEGIN{ok=0} $0 ~ m { if ($2+0 >= t+0) ok=1 } END{exit !ok}'"
        )
    return (
        f"probe() {{ local end=$((SECONDS+{spec.ready_timeout})) r; while :; do "
        f"r=$( (exec 3<>/dev/tcp/127.0.0.1/{probe.port} && "
        f"printf 'GET {probe.path} HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && "
        f"timeout 5 cat <&3) 2>/dev/null ); "
        f"if printf '%s' \"$r\" | head -n1 | grep -q ' 200 '{check}; then return 0; fi; "
        # A process that exited after the restart will not become ready: give up at once
        # instead of waiting out ready_timeout while systemd restarts it again and again.
        f"case $(systemctl show -p SubState --value {spec.name}.service) in "
        f"failed|auto-restart|dead) return 1;; esac; "
        f"[ $SECONDS -ge $end ] && return 1; sleep 0.5; done; }}"
    )


def _settled_script(spec: ServiceSpec) -> str:
    """Bash that waits until the service runs with the same MainPID for 5 s, for the check
    after a rollback: the readiness endpoint belongs to the configuration that was just
    rolled back (its port may be another program's), not to the one put back."""
    unit = f"{spec.name}.service"
    return (
        f"settled() {{ local end=$((SECONDS+{spec.ready_timeout})) pid; while :; do "
        f"case $(systemctl show -p SubState --value {unit}) in "
        f"running) pid=$(systemctl show -p MainPID --value {unit}); sleep 5; "
        f'[ "$(systemctl show -p SubState --value {unit})" = running ] && '
        f'[ "$(systemctl show -p MainPID --value {unit})" = "$pid" ] && return 0;; '
        f"failed|auto-restart) return 1;; esac; "
        f"[ $SECONDS -ge $end ] && return 1; sleep 0.5; done; }}"
    )


def _activation(spec: ServiceSpec, plan_: Plan) -> str:
    """One bash script that puts staged files live, switches the binary, restarts or
    reloads, waits for readiness, and rolls everything back when readiness fails."""
    q = shlex.quote
    name = spec.name
    staged = f"{spec.config_dir}/.staged"
    last_good = f"{spec.config_dir}/.last-good"
    live_files = [f.path for f in plan_.files]
    # .last-good was made empty by the operation before anything went live (secrets go
    # first); what this script replaces is added to it.
    lines = ["set -eu", f"install -d -m 750 -o root -g {name} {last_good}"]

    action = plan_.action
    if action == "none" and plan_.start:
        action = "restart"
    if action != "none" or plan_.start:
        lines.append(f"echo {action} > {spec.config_dir}/.pending")

    for live in [*live_files, *plan_.prune]:
        rel = q(live.removeprefix(spec.config_dir + "/"))
        lines.append(
            f'if [ -e {q(live)} ]; then mkdir -p "$(dirname {last_good}/{rel})"; '
            f"cp -a {q(live)} {last_good}/{rel}; else echo {rel} >> {last_good}/.absent; fi"
        )
    for live in live_files:
        rel = live.removeprefix(spec.config_dir + "/")
        lines.append(f'mkdir -p "$(dirname {q(live)})"; mv -f {q(staged + "/" + rel)} {q(live)}')
    managed_dirs = {d.path for d in spec.all_dirs()}
    for pruned in plan_.prune:
        lines.append(f"rm -f {q(pruned)}")
        parent = str(PurePosixPath(pruned).parent)
        if parent not in managed_dirs:
            # A folder the data no longer names (a dashboard folder removed whole).
            lines.append(f"rmdir {q(parent)} 2>/dev/null || true")
    if plan_.unit:
        lines.append(f"[ -e {spec.unit_path} ] && cp -a {spec.unit_path} {last_good}/.unit || true")
        lines.append(f"mv -f {staged}/.unit {spec.unit_path}")
        lines.append("systemctl daemon-reload")
    if plan_.install and not plan_.switch_link:
        lines.append(f"touch {last_good}/.reinstalled")
    if plan_.switch_link:
        link = f"{spec.install_root}/current"
        lines.append(f"readlink {link} > {last_good}/.link || true")
        lines.append(f"ln -sfn {q(spec.install.version)} {link}.new && mv -Tf {link}.new {link}")

    if action == "none":
        lines.append(f"rm -rf {last_good}")
        return "\n".join(lines)

    probe = spec.reload_ready if action == "reload" and spec.reload_ready else spec.ready
    lines.append("since=$(date +%s)")
    if probe:
        lines.append(_probe_script(spec, probe, "since"))
    else:
        lines.append("probe() { systemctl is-active --quiet " + name + "; }")
    verb = "reload" if action == "reload" else "restart"
    lines.append(f"systemctl {verb} {name}.service || true")
    ready_timeout = spec.ready_timeout
    rollback = [
        f"echo '{name}: not ready after {verb} (waited up to {ready_timeout}s); rolling back' >&2",
        f"journalctl -u {name}.service -n 20 --no-pager >&2 || true",
        f"cd {last_good}",
        # Backed-up files count too: a change of config alone has no .unit and no .link.
        f'if [ ! -f .unit ] && [ ! -s .link ] && [ -z "$(find . -type f ! -name .absent '
        f'! -name .unit ! -name .link ! -name .reinstalled)" ]; then '
        f"if [ -f .reinstalled ]; then echo '{name}: nothing to roll back to: the verified "
        f"{spec.install.version} binary was reinstalled and did not become ready' >&2; "
        f"else echo '{name}: nothing to roll back to: this was its first install' >&2; fi; "
        f"exit 1; fi",
        f"find . -type f ! -name .absent ! -name .unit ! -name .link | while read -r f; do "
        f'cp -a "$f" "{spec.config_dir}/${{f#./}}"; done',
        f'[ -f .absent ] && while read -r f; do rm -f "{spec.config_dir}/$f"; done < .absent',
        f"[ -f .unit ] && cp -a .unit {spec.unit_path}",
        f'[ -s .link ] && ln -sfn "$(cat .link)" {spec.install_root}/current.new && '
        f"mv -Tf {spec.install_root}/current.new {spec.install_root}/current",
        "systemctl daemon-reload",
        f"systemctl restart {name}.service || true",
        f"if settled; then echo '{name}: rolled back to the last good configuration and binary' "
        ">&2;"
        f" rm -f {spec.config_dir}/.pending; cd /; rm -rf {staged} {last_good};"
        f" else echo '{name}: rollback did not become ready either' >&2; fi",
        "exit 1",
    ]
    rollback.insert(3, _settled_script(spec))
    lines.append("if ! probe; then set +e; " + "; ".join(rollback) + "; fi")
    lines.append(f"rm -f {spec.config_dir}/.pending; rm -rf {last_good}")
    return "\n".join(lines)


def _bash(script: str) -> str:
    return f"bash -c {shlex.quote(script)}"


def _upload(content: bytes, dest: str) -> FileUploadCommand:
    return FileUploadCommand(BytesIO(content), dest)


def _set_attributes(managed: ManagedFile, group: str, path: str) -> str:
    return (
        f"chown {managed.owner}:{group} {shlex.quote(path)} && chmod {managed.mode} "
        f"{shlex.quote(path)}"
    )


@operation(is_idempotent=True)
def binary_service(spec: ServiceSpec):
    """Install, configure and run one component as a systemd service.

    + spec: everything particular to the component (see ``ServiceSpec``)

    Reads the service's whole state in one command and issues commands only for what
    differs: nothing at all on a converged host. A changed binary or unit restarts the
    service; a changed config reloads it where the program can reload and restarts it
    otherwise. Every config is staged and checked by its own program before it goes
    live; readiness is awaited after the change, and a service that does not become
    ready is rolled back to the previous files and binary and the host fails.

    **Example:**

    .. code:: python

        binary_service(name="Run Loki", spec=loki_spec)
    """
    pruned_dirs = [d.path for d in spec.all_dirs() if d.prune]
    state = host.get_fact(
        ServiceStateFact, service=spec.name, paths=inspected_paths(spec), pruned_dirs=pruned_dirs
    )
    todo = plan(spec, state)
    if todo.empty:
        logger.debug(f"{host.print_prefix}{spec.name}: nothing to do")
        return

    name = spec.name
    q = shlex.quote
    logger.info(f"{host.print_prefix}{name}: {summary(todo)}")

    if todo.create_group:
        yield f"getent group {name} >/dev/null || groupadd --system {name}"
    if todo.user_command:
        yield todo.user_command
        data_dir = spec.data_dir or f"/var/lib/{name}"
        if todo.user_command.startswith("useradd"):
            # Data kept by an uninstall belongs to the old user's number.
            yield f"if [ -d {data_dir} ]; then chown -R {name}:{name} {data_dir}; fi"
    for directory in todo.dirs:
        yield (
            f"install -d -m {directory.mode} -o {directory.owner} -g {directory.group} "
            f"{q(directory.path)}"
        )

    staged = f"{spec.config_dir}/.staged"
    last_good = f"{spec.config_dir}/.last-good"
    staging = bool(todo.files or todo.secrets or todo.unit)
    activates = bool(
        todo.files
        or todo.prune
        or todo.unit
        or todo.switch_link
        or todo.action != "none"
        or todo.start
    )
    owed: Effect = "restart" if todo.start and todo.action == "none" else todo.action
    if todo.clean_staging or staging:
        yield f"rm -rf {staged}"
    if staging:
        yield f"install -d -m 750 -o root -g {name} {staged}"

    if owed != "none" and (todo.install or todo.secrets):
        # Owed before a binary or a secret is replaced: a run killed after this point
        # still restarts the service on the next run.
        yield f"echo {owed} > {spec.config_dir}/.pending"

    if todo.install:
        incoming = f"{spec.install_root}/.incoming.tar"
        building = f"{spec.install_root}/.{spec.install.version}.new"
        yield FileUploadCommand(spec.install.payload, incoming)
        yield _bash(
            f"set -eu; rm -rf {q(building)}; mkdir -p {q(building)}; "
            f"tar -xf {incoming} -C {q(building)} --no-same-owner; "
            f"echo {spec.install.payload_sha256} > {q(building)}/.payload-sha256; "
            f"chown -R root:root {q(building)}; chmod 755 {q(building)}; "
            f"rm -rf {q(spec.install_dir)}; mv {q(building)} {q(spec.install_dir)}; "
            f"rm -f {incoming}"
        )

    # Secrets go live first and on their own: checks below may need them at their live
    # path (promtool verifies that a credentials file exists).
    if todo.secrets:
        # pyinfra's sudo upload passes through a temporary file the SSH user writes with
        # the SFTP server's default mode; for secrets that file lives in a private folder.
        yield StringCommand(
            f"mkdir -p -m 700 {PRIVATE_UPLOADS} && chmod 700 {PRIVATE_UPLOADS}", _sudo=False
        )
    if activates or todo.secrets:
        yield f"rm -rf {last_good} && install -d -m 750 -o root -g {name} {last_good}"
    for number, secret in enumerate(todo.secrets):
        tmp = f"{staged}/.secret"
        yield FileUploadCommand(
            BytesIO(secret.content),
            tmp,
            remote_temp_filename=f"{PRIVATE_UPLOADS}/{name}-{number}-{uuid.uuid4().hex}",
        )
        rel = q(secret.path.removeprefix(spec.config_dir + "/"))
        parent = q(str(PurePosixPath(secret.path).parent))
        yield (
            f"{_set_attributes(secret, name, tmp)} && mkdir -p {parent} && "
            f'if [ -e {q(secret.path)} ]; then mkdir -p "$(dirname {last_good}/{rel})" && '
            f"cp -a {q(secret.path)} {last_good}/{rel}; "
            f"else echo {rel} >> {last_good}/.absent; fi && mv -f {tmp} {q(secret.path)}"
        )

    for managed in todo.files:
        rel = managed.path.removeprefix(spec.config_dir + "/")
        target = f"{staged}/{rel}"
        parent = str(PurePosixPath(target).parent)
        if parent != staged:
            yield f"install -d -m 750 -o root -g {name} {q(parent)}"
        yield _upload(managed.content, target)
        yield _set_attributes(managed, name, target)

    for managed in todo.files:
        if not managed.check:
            continue
        rel = managed.path.removeprefix(spec.config_dir + "/")
        command = managed.check.format(path=q(f"{staged}/{rel}"), install=q(spec.install_dir))
        yield _bash(
            f"cd /; if ! out=$(runuser -u {name} -- {command} 2>&1); then "
            f"printf '%s\\n' \"$out\" >&2; echo '{name}: rendered {managed.path} was rejected "
            f"by its check; the live file is unchanged' >&2; rm -rf {staged}; exit 1; fi"
        )

    if todo.unit:
        yield _upload(spec.unit, f"{staged}/.unit")
        yield f"chown root:root {staged}/.unit && chmod 644 {staged}/.unit"

    for managed in todo.attributes:
        yield _set_attributes(managed, name, managed.path)
    for target in todo.install_attributes:
        mode = "644" if target == spec.unit_path else "755"
        yield f"chown root:root {q(target)} && chmod {mode} {q(target)}"

    if todo.enable and not todo.unit:
        yield f"systemctl enable {name}.service"

    if activates:
        yield _bash(_activation(spec, todo))
    for tree in todo.old_trees:
        yield f"rm -rf {q(tree)}"

    if todo.enable and todo.unit:
        yield f"systemctl enable {name}.service"
    if staging:
        yield f"rm -rf {staged} {last_good}"


@operation(is_idempotent=True)
def removed_service(service: str, remove_data: bool = False):
    """Remove one component from a host: stop and disable its unit, delete the unit, the
    install trees, the configuration and the user and group. Its data directory stays
    unless ``remove_data`` is set.

    + service: the component (unit, user and directory name)
    + remove_data: also delete ``/var/lib/<name>``

    **Example:**

    .. code:: python

        removed_service(name="Remove Loki", service="loki", remove_data=False)
    """
    name = service
    data_dir = f"/var/lib/{name}"
    paths = [f"/etc/systemd/system/{name}.service", f"/opt/{name}", f"/etc/{name}", data_dir]
    state = host.get_fact(ServiceStateFact, service=name, paths=paths, pruned_dirs=[])
    present = {p for p, found in state.paths.items() if found.kind != "absent"}
    if not remove_data:
        present.discard(data_dir)
    if state.unit.get("LoadState") == "loaded":
        yield f"systemctl disable --now {name}.service"
    if f"/etc/systemd/system/{name}.service" in present:
        yield f"rm -f /etc/systemd/system/{name}.service && systemctl daemon-reload"
    for path in sorted(present - {f"/etc/systemd/system/{name}.service"}):
        yield f"rm -rf {shlex.quote(path)}"
    if state.user is not None:
        yield f"userdel {name}"
    if state.group_exists:
        yield f"getent group {name} >/dev/null && groupdel {name} || true"


class InstalledServicesFact(FactBase):
    """Which of the given services have a unit file this project wrote."""

    def command(self, services: list[str]) -> str:  # type: ignore[override]
        units = " ".join(shlex.quote(f"/etc/systemd/system/{s}.service") for s in services)
        return f"grep -ls {shlex.quote(HEADER)} {units} 2>/dev/null || true"

    @staticmethod
    def default() -> list[str]:
        # pyinfra returns this when the command prints nothing: no such unit.
        return []

    def process(self, output: list[str]) -> list[str]:  # type: ignore[override]
        return sorted(PurePosixPath(line.strip()).stem for line in output if line.strip())


STRAY = "is installed here but this host is not in its role group"


@operation(is_idempotent=True)
def unassigned_services(services: list[str]):
    """Warn about stack services left on a host that is no longer in their role groups.

    + services: the components this host should not run

    Nothing is removed: a role group emptied by mistake must not delete a service. The
    warning names the way to remove it, and ``obs-drift`` counts it as drift.

    **Example:**

    .. code:: python

        unassigned_services(name="Look for stray services", services=["loki"])
    """
    for service in host.get_fact(InstalledServicesFact, services=services):
        logger.warning(
            f"{host.print_prefix}{service}: {STRAY}; remove it with deploys/uninstall.py "
            f"--data uninstall_components='[\"{service}\"]'"
        )
    return
    yield  # an operation is a generator, even one that never issues a command
