"""Typed errors. All derive from pyinfra's own, so the CLI prints the message alone."""

from __future__ import annotations

from pyinfra.api.exceptions import PyinfraError


class StackError(PyinfraError):
    """Base of every error this project raises."""


class DataError(StackError):
    """Inventory or group data that the deploys refuse, raised before any host is changed."""


class ArtifactError(StackError):
    """A release artifact that is missing, unlocked, or does not match its lock."""


class RenderError(StackError):
    """A rendered file that fails one of our own checks on the controller."""
