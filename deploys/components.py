"""What a component module provides, and the helpers they share.

A component module defines one :class:`Component`: its data keys, its release artifact,
the ports it claims, and a ``build`` function that turns the host's settings into a
:class:`deploys.service.ServiceSpec`. Everything else -- users, directories, install,
staging, checks, restart or reload, readiness, rollback -- is the shared mechanism's.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploys.artifacts import Artifact
from deploys.render import render
from deploys.service import Install, ManagedFile, Probe, ServiceSpec
from deploys.settings import Key
from deploys.topology import Topology


@dataclass(frozen=True)
class BuildContext:
    host_name: str
    data: dict[str, Any]
    secrets: dict[str, str]
    topology: Topology
    install: Install

    def render(self, template: str, **extra: Any) -> bytes:
        return render(template, data=self.data, host_name=self.host_name, **extra)


@dataclass(frozen=True)
class Component:
    """+ name: unit, user, group and directory name
    + keys: the data keys particular to it, each with its one default
    + artifact: how its releases are published
    + version_key: the data key holding its version
    + port_keys: the data keys of every port it binds
    + build: settings -> ServiceSpec
    """

    name: str
    keys: tuple[Key, ...]
    artifact: Artifact
    version_key: str
    port_keys: tuple[str, ...]
    build: Callable[[BuildContext], ServiceSpec]


def systemd_unit(
    name: str,
    description: str,
    exec_start: list[str],
    *,
    read_write_paths: list[str],
    reload_signal: bool = False,
    documentation: str = "",
    environment: dict[str, str] | None = None,
) -> bytes:
    """The hardened unit every component runs under (templates/systemd/service.j2)."""
    return render(
        "systemd/service.j2",
        name=name,
        description=description,
        documentation=documentation,
        exec_start=" \\\n    ".join(shlex.quote(arg) for arg in exec_start),
        read_write_paths=sorted(set(read_write_paths)),
        reload_signal=reload_signal,
        environment=sorted((environment or {}).items()),
    )


def single_binary_service(
    ctx: BuildContext,
    name: str,
    description: str,
    documentation: str,
    config: bytes,
    check_flags: str,
    ready_port: int,
) -> ServiceSpec:
    """The shape Loki, Mimir and Tempo share: one binary ``/opt/<name>/current/<name>``
    run with ``-config.file=/etc/<name>/<name>.yaml``, the config checked by the new binary
    with ``check_flags`` before it goes live, data in ``/var/lib/<name>``, ready when
    ``/ready`` answers. None of them reloads: a config change restarts."""
    config_path = f"/etc/{name}/{name}.yaml"
    data_dir = f"/var/lib/{name}"
    unit = systemd_unit(
        name,
        description,
        [f"/opt/{name}/current/{name}", f"-config.file={config_path}"],
        read_write_paths=[data_dir],
        documentation=documentation,
    )
    check = f"{{install}}/{name} -config.file={{path}} {check_flags}"
    return ServiceSpec(
        name=name,
        install=ctx.install,
        unit=unit,
        files=(ManagedFile(config_path, config, check=check),),
        ready=Probe(ready_port, "/ready"),
        ready_timeout=180,
        data_dir=data_dir,
    )
