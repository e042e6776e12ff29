"""``obs-keys``: every data key the deploys read, with its default and what it sets.

The schema in ``deploys/settings.py`` and the component modules is the only place a key
and its default are written; this prints it, grouped by component.
"""

from __future__ import annotations

import sys

from deploys.orchestration import COMPONENTS
from deploys.settings import REQUIRED, STACK_KEYS, Key


def _line(key: Key) -> str:
    if key.secret:
        default = "secret: environment or secrets_file"
    elif key.default is REQUIRED:
        default = "required"
    else:
        default = f"default {key.default!r}"
    return f"  {key.name}  ({key.kind.describe}; {default})\n      {key.doc}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        print(__doc__.strip() if args[0] in ("-h", "--help") else "usage: obs-keys")
        return 0 if args[0] in ("-h", "--help") else 2
    print("stack")
    for key in STACK_KEYS:
        print(_line(key))
    for component in COMPONENTS:
        print(f"\n{component.name}")
        for key in component.keys:
            print(_line(key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
