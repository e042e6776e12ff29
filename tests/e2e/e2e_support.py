"""Helpers shared by the end-to-end tests: probes, polling and journal excerpts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from testinfra.host import Host

# Runs inside a host with only the standard library: curl is not in the image.
HTTP_PROBE = """\
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        print(json.dumps({"status": response.status, "body": response.read().decode()}))
except urllib.error.HTTPError as error:
    print(json.dumps({"status": error.code, "body": error.read().decode(errors="replace")}))
except Exception as error:
    print(json.dumps({"status": 0, "body": repr(error)}))
"""


def journal(host: Host, unit: str, lines: int = 50) -> str:
    """The unit's last journal lines, for assertion messages."""
    result = host.run(f"journalctl -u {unit} -n {lines} --no-pager")
    return f"\n--- journalctl -u {unit} -n {lines}\n{result.stdout}{result.stderr}"


def http_get_inside(host: Host, url: str) -> tuple[int, str]:
    """GET a URL from inside the host; return the status (0 when unreachable) and body."""
    result = host.run("python3 -c %s %s", HTTP_PROBE, url)
    try:
        answer = json.loads(result.stdout)
    except json.JSONDecodeError:
        return 0, result.stdout + result.stderr
    return int(answer["status"]), str(answer["body"])


def http_get_from_controller(url: str) -> tuple[int, str]:
    """GET a URL on 127.0.0.1 from the machine running the tests."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, repr(error)


def unit_is_up(host: Host, unit: str) -> bool:
    """Whether the unit is running or on its way there, i.e. worth waiting for."""
    state = host.run(f"systemctl is-active {unit}").stdout.strip()
    return state in ("active", "activating", "reloading")


def poll(
    check: Callable[[], tuple[bool, str]],
    timeout: float,
    interval: float = 2.0,
    worth_waiting: Callable[[], bool] = lambda: True,
) -> tuple[bool, str]:
    """Call `check` until it reports done, `timeout` seconds pass or waiting is pointless.

    Returns whether it was done and its last detail.
    """
    deadline = time.monotonic() + timeout
    while True:
        done, detail = check()
        if done or time.monotonic() >= deadline or not worth_waiting():
            return done, detail
        time.sleep(interval)
