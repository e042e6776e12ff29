"""Render every file the deploys would write, on the controller, without reaching any host.

``obs-render inventories/dev.py --out rendered/`` loads the inventory and its group data the
way ``pyinfra`` does, builds the same plan as a deploy (every data key checked, the tenant
model, the artifact lock), and writes each host's config files and systemd units under
``rendered/<host>/<absolute path on the host>``. Nothing is downloaded: the install tree is
a stand-in carrying only the version from data.

With ``--compose`` the stack is laid out for ``docker-compose.yml`` instead: each component
becomes a host of its own, named after its compose service and advertising that name, so
every address between services is a compose service name (see ``COMPOSE_SERVICES``).

The inventory loader here is a small re-implementation of ``pyinfra_cli.inventory``: that
package monkey-patches the whole process with gevent as soon as it is imported, which a
library function must not do. ``tests/unit/test_render_inventory.py`` checks that both load
the same hosts, groups and data.
"""

from __future__ import annotations

import argparse
import ast
import logging
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pyinfra.api import Config, Inventory, State
from pyinfra.context import ctx_inventory

from deploys.components import BuildContext
from deploys.errors import DataError, StackError
from deploys.orchestration import COMPONENTS, ROLES, build_plan
from deploys.service import Install, ServiceSpec

logger = logging.getLogger("deploys.compose")

# Compose service name of each component; in compose mode it is also the component's
# pseudo-host name and its advertise_address. Service names are DNS names on the compose
# network, so they use dashes, not underscores.
COMPOSE_SERVICES: dict[str, str] = {
    "prometheus": "prometheus",
    "mimir": "mimir",
    "loki": "loki",
    "tempo": "tempo",
    "redis_exporter": "redis-exporter",
    "grafana": "grafana",
}

# Data that only makes sense inside the compose network; --data and data_overrides win.
COMPOSE_DATA: dict[str, Any] = {
    # The `redis` service of docker-compose.yml.
    "redis_address": "redis:6379",
    # The API under development runs on the machine itself, outside the compose network.
    "backend_target": "host.docker.internal:8000",
}

HostFiles = dict[str, bytes]


# -- loading an inventory the way the pyinfra CLI does --------------------------------------


def _exec_python(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    return names


def _is_group(name: str, value: Any) -> bool:
    if name.startswith("_"):
        return False
    hosts = value[0] if isinstance(value, tuple) else value
    return isinstance(hosts, list) and all(isinstance(h, str | tuple) for h in hosts)


def _host_name(entry: str | tuple[str, dict[str, Any]]) -> str:
    return entry[0] if isinstance(entry, tuple) else entry


def _group_data_files(directory: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if not directory.is_dir():
        return found
    for file in sorted(directory.iterdir()):
        if file.suffix != ".py":
            continue
        attrs = _exec_python(file)
        exported = attrs.get("__all__")
        if exported is None:
            imported = _imported_names(file)
            exported = [key for key in attrs if key not in imported]
        found[file.stem] = {
            key: value
            for key, value in attrs.items()
            if key in exported and not key.startswith("__")
        }
    return found


@dataclass(frozen=True)
class LoadedInventory:
    """An inventory file and its group data, before they become a pyinfra Inventory.

    + groups: group name -> (host entries as in the file, inline group data), file order;
      the group named after the file is last
    + all_hosts: every host name, in the order pyinfra lists them
    + group_data: group name -> data from ``group_data/<group>.py``
    """

    groups: dict[str, tuple[list[Any], dict[str, Any]]]
    all_hosts: list[str]
    all_data: dict[str, Any]
    group_data: dict[str, dict[str, Any]]

    def inventory(self, override_data: dict[str, Any] | None = None) -> Inventory:
        groups: dict[str, tuple[list[Any], dict[str, Any]]] = {}
        for name, (hosts, inline) in self.groups.items():
            groups[name] = (hosts, {**inline, **self.group_data.get(name, {})})
        for name, data in self.group_data.items():
            if name not in groups and name != "all":
                groups[name] = ([], data)
        all_data = {**self.all_data, **self.group_data.get("all", {})}
        return Inventory((self.all_hosts, all_data), override_data=override_data, **groups)


def load_inventory_file(inventory_path: Path, cwd: Path) -> LoadedInventory:
    """Read an inventory file and the group data beside it, as ``pyinfra`` does from ``cwd``.

    + inventory_path: the inventory file (``inventories/<env>.py``)
    + cwd: the directory pyinfra would run in; its ``group_data/`` is read, and so is one
      beside the inventory file when that is a different directory
    """
    attrs = _exec_python(inventory_path)
    groups: dict[str, tuple[list[Any], dict[str, Any]]] = {}
    for name, value in attrs.items():
        if name.startswith("__") or not _is_group(name, value):
            continue
        hosts, inline = value if isinstance(value, tuple) else (value, {})
        groups[name] = (list(hosts), dict(inline))

    all_data: dict[str, Any] = {}
    if "all" in groups:
        listed, all_data = groups.pop("all")
        all_hosts = [_host_name(entry) for entry in listed]
    else:
        all_hosts = []
        for hosts, _ in groups.values():
            all_hosts.extend(n for n in map(_host_name, hosts) if n not in all_hosts)
    file_group = inventory_path.name.rsplit(".", 1)[0]
    groups.setdefault(file_group, (list(all_hosts), {}))

    # Group data files may read the inventory (`from pyinfra import inventory`), as with
    # the CLI they see one without group data yet.
    provisional = Inventory((all_hosts, all_data), **groups)
    directories = [cwd / "group_data"]
    beside = inventory_path.resolve().parent / "group_data"
    if beside.resolve() != directories[0].resolve():
        directories.append(beside)
    group_data: dict[str, dict[str, Any]] = {}
    with ctx_inventory.use(provisional):
        for directory in directories:
            for name, data in _group_data_files(directory).items():
                group_data.setdefault(name, {}).update(data)
    return LoadedInventory(groups, all_hosts, all_data, group_data)


def compose_layout(loaded: LoadedInventory) -> LoadedInventory:
    """The same stack with one pseudo-host per component, named after its compose service.

    Each pseudo-host advertises its service name, so the topology derives every address
    between services from the compose network's names; data of the inventory's hosts and
    groups other than the role groups is kept (``group_data/<env>.py`` applies as before).
    """
    groups: dict[str, tuple[list[Any], dict[str, Any]]] = {}
    pseudo_hosts: list[tuple[str, dict[str, Any]]] = []
    for role in ROLES:
        if role not in loaded.groups:
            continue
        service = COMPOSE_SERVICES[role]
        host = (service, {"advertise_address": service})
        pseudo_hosts.append(host)
        groups[role] = ([host], dict(loaded.groups[role][1]))
    for name, (_, inline) in loaded.groups.items():
        if name not in groups:
            groups[name] = (list(pseudo_hosts), dict(inline))
    return LoadedInventory(
        groups, [name for name, _ in pseudo_hosts], loaded.all_data, loaded.group_data
    )


# -- rendering ---------------------------------------------------------------------------


def _fake_install(version: Any) -> Install:
    return Install(str(version), payload="", payload_sha256="0" * 64, checked={})


def render_specs(
    inventory_path: Path,
    data_overrides: dict[str, Any] | None = None,
    *,
    compose: bool = False,
    cwd: Path | None = None,
) -> dict[str, dict[str, ServiceSpec]]:
    """Every host's ServiceSpecs, built exactly as a deploy builds them.

    + inventory_path: the inventory file
    + data_overrides: like ``pyinfra --data``: wins over every other source
    + compose: lay the stack out for docker-compose.yml (see ``compose_layout``)
    + cwd: the project directory, where ``group_data/`` and the lock file are; default:
      the current directory, as for ``pyinfra``

    Raises ``DataError`` or ``ArtifactError`` on the inputs a deploy would refuse.
    """
    cwd = (cwd or Path.cwd()).resolve()
    loaded = load_inventory_file(inventory_path, cwd)
    overrides = dict(data_overrides or {})
    if compose:
        loaded = compose_layout(loaded)
        overrides = {**COMPOSE_DATA, **overrides}
    inventory = loaded.inventory(overrides)
    state = State(inventory, Config())
    state.cwd = str(cwd)
    plan = build_plan(state)

    rendered: dict[str, dict[str, ServiceSpec]] = {}
    for host in inventory:
        data = plan.settings[host.name]
        specs: dict[str, ServiceSpec] = {}
        for component in COMPONENTS:
            if component.name not in host.groups:
                continue
            context = BuildContext(
                host.name,
                data,
                plan.secrets[host.name],
                plan.topology,
                _fake_install(data[component.version_key]),
            )
            specs[component.name] = component.build(context)
        rendered[host.name] = specs
    return rendered


def spec_files(spec: ServiceSpec) -> HostFiles:
    """The files a spec puts on a host, by absolute path: its configs and its unit."""
    files = {managed.path: managed.content for managed in spec.files}
    files[spec.unit_path] = spec.unit
    return files


def render_inventory(
    inventory_path: Path,
    data_overrides: dict[str, Any] | None = None,
    *,
    compose: bool = False,
    cwd: Path | None = None,
) -> dict[str, HostFiles]:
    """host name -> absolute path -> content of every file a deploy would write.

    + inventory_path, data_overrides, compose, cwd: as for ``render_specs``

    **Example:** ``render_inventory(inventory_path=Path("inventories/dev.py"))``
    """
    specs = render_specs(inventory_path, data_overrides, compose=compose, cwd=cwd)
    result: dict[str, HostFiles] = {}
    for host, by_component in specs.items():
        files: HostFiles = {}
        for spec in by_component.values():
            files.update(spec_files(spec))
        result[host] = dict(sorted(files.items()))
    return result


def _under(root: Path, absolute: str) -> Path:
    relative = PurePosixPath(absolute).relative_to("/")
    if ".." in relative.parts:
        raise DataError(f"{absolute}: a rendered path may not leave its host's directory")
    return root / relative


def write_rendered(specs: dict[str, dict[str, ServiceSpec]], out: Path) -> list[Path]:
    """Write every host's files under ``out/<host>/``; returns the paths written.

    Each host's directory is replaced as a whole, so a file the data no longer renders
    does not linger there. Secret files are written 0600, everything else 0644. The config
    directories a component keeps (provisioning folders and the like) are created even
    when empty, so that a bind mount of ``out/<host>/etc/<component>`` looks like the
    host's.
    """
    written: list[Path] = []
    for host, by_component in specs.items():
        root = out / host
        if root.exists():
            shutil.rmtree(root)
        for spec in by_component.values():
            for directory in spec.all_dirs():
                if directory.path.startswith(spec.config_dir):
                    _under(root, directory.path).mkdir(parents=True, exist_ok=True)
            secret = {managed.path for managed in spec.files if managed.secret}
            for path, content in spec_files(spec).items():
                target = _under(root, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
                target.chmod(0o600 if path in secret else 0o644)
                written.append(target)
    return written


def _parse_data(items: Iterable[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DataError(f"--data {item}: expected key=value")
        try:
            data[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            data[key] = value
    return data


def main(argv: list[str] | None = None) -> int:
    """``obs-render INVENTORY --out DIR [--compose] [--data key=value ...]``."""
    parser = argparse.ArgumentParser(
        prog="obs-render",
        description="Write every file a deploy of INVENTORY would put on each host, under "
        "DIR/<host>/<absolute path>, without connecting to any host.",
    )
    parser.add_argument("inventory", type=Path, help="inventory file, e.g. inventories/dev.py")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--compose",
        action="store_true",
        help="one host per component named after its docker-compose.yml service",
    )
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a data key, as pyinfra --data (Python literals are parsed)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        specs = render_specs(args.inventory, _parse_data(args.data), compose=args.compose)
    except StackError as error:
        # Refused the way a deploy would refuse it: the message names the key and file.
        print(f"obs-render: {error}", file=sys.stderr)
        return 1

    written = write_rendered(specs, args.out)
    logger.info(f"rendered {len(written)} files for {len(specs)} hosts into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
