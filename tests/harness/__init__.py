"""Test harness: molecule-style scenarios run with the docker SDK and pyinfra.

Usage: `python -m tests.harness test default` (see molecule/README.md for the scenario format).
"""

from __future__ import annotations

from .errors import HarnessError, ScenarioError
from .scenario import Platform, Scenario, list_scenarios, load_scenario

__all__ = [
    "HarnessError",
    "Platform",
    "Scenario",
    "ScenarioError",
    "list_scenarios",
    "load_scenario",
]
