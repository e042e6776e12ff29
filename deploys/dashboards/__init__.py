"""The stack's Grafana dashboards, built as code with grafana-foundation-sdk.

One module per Grafana folder; each module's ``dashboards()`` returns its dashboard builders.
:func:`render_dashboards` turns them into the JSON files Grafana's file provider reads, laid
out as ``<folder>/<uid>.json`` so that ``foldersFromFilesStructure`` puts each dashboard in
its folder. :func:`load_extra_dashboards` reads users' own dashboard files in the same layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deploys.dashboards import (
    backend_services,
    executive_overview,
    loki,
    mimir,
    model_performance,
    prometheus,
    tempo,
)
from deploys.dashboards._panels import finish
from deploys.errors import DataError, RenderError

__all__ = ["FOLDERS", "dashboard_json", "load_extra_dashboards", "render_dashboards"]

_MODULES = (model_performance, loki, prometheus, tempo, mimir, executive_overview, backend_services)

FOLDERS: tuple[str, ...] = tuple(module.FOLDER for module in _MODULES)


def dashboard_json(document: dict[str, Any]) -> bytes:
    """The one serialisation every dashboard file gets: sorted keys, indent 2, final newline."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def render_dashboards() -> dict[str, bytes]:
    """Every built-in dashboard, as ``{"<Folder>/<uid>.json": JSON bytes}``.

    The output depends on nothing but this package, so two runs give identical bytes.
    """
    files: dict[str, bytes] = {}
    for module in _MODULES:
        for builder in module.dashboards():
            document = finish(builder)
            path = f"{module.FOLDER}/{document['uid']}.json"
            if path in files:
                raise RenderError(f"{path}: two built-in dashboards share the uid")
            files[path] = dashboard_json(document)
    return files


def load_extra_dashboards(directory: Path) -> dict[str, bytes]:
    """Users' own dashboard JSON files, as ``{"<Folder>/<file name>": JSON bytes}``.

    + directory: the folder named in group data; each subfolder is a Grafana folder, and files
      directly inside it land in Grafana's General folder

    Every ``*.json`` file must hold a JSON object with a string ``uid`` and ``title``; uids must
    not repeat, nor clash with a built-in dashboard's. Errors name the file. Files are written
    back with the same serialisation as the built-in dashboards, so a re-run changes nothing.

    Example: ``load_extra_dashboards(directory=Path("dashboards"))``
    """
    if not directory.is_dir():
        raise DataError(f"{directory}: the extra dashboards folder does not exist")
    taken = {
        json.loads(content)["uid"]: f"built-in {path}"
        for path, content in render_dashboards().items()
    }
    files: dict[str, bytes] = {}
    for file in sorted(directory.rglob("*.json")):
        relative = file.relative_to(directory)
        if len(relative.parts) > 2:
            raise DataError(
                f"{file}: dashboards may sit one folder deep at most (the folder is the Grafana "
                "folder)"
            )
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataError(f"{file}: not a readable JSON file: {error}") from None
        if not isinstance(document, dict):
            raise DataError(f"{file}: a dashboard file must hold a JSON object")
        for key in ("uid", "title"):
            if not isinstance(document.get(key), str) or not document[key]:
                raise DataError(f"{file}: the dashboard needs a non-empty string {key!r}")
        uid = document["uid"]
        if uid in taken:
            raise DataError(f"{file}: uid {uid!r} is already used by {taken[uid]}")
        taken[uid] = str(file)
        # Grafana assigns ids itself; an exported id would clash across instances.
        document.pop("id", None)
        files[relative.as_posix()] = dashboard_json(document)
    return files
