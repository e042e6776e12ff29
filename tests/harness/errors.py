"""Exceptions raised by the harness."""

from __future__ import annotations


class HarnessError(Exception):
    """A stage could not do its work; the message says why."""


class ScenarioError(HarnessError):
    """A scenario file is missing or does not follow the format in molecule/README.md."""
