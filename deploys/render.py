"""Rendering of every file the deploys write, from the Jinja2 templates in ``templates/``.

Rendering is deterministic: mappings are dumped with sorted keys and nothing time- or
run-dependent is ever rendered, so an unchanged inventory renders byte-identical files and
a re-run changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import yaml

from deploys.service import HEADER

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = REPO_ROOT / "templates"


def _to_yaml(value: Any, indent: int = 0) -> str:
    text = yaml.safe_dump(value, sort_keys=True, default_flow_style=False, width=1000)
    if indent:
        pad = " " * indent
        text = "".join(pad + line if line.strip() else line for line in text.splitlines(True))
    return text.rstrip("\n")


def _to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)
_environment.filters["to_yaml"] = _to_yaml
_environment.filters["to_json"] = _to_json
_environment.filters["combine_labels"] = lambda labels, **more: {**labels, **more}
_environment.globals["header"] = HEADER


def render(template: str, **context: Any) -> bytes:
    """Render ``templates/<template>`` with ``context``; unknown names are errors."""
    text = _environment.get_template(template).render(**context)
    return text.encode()
