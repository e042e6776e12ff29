"""pyinfra settings for every run from this directory (pyinfra reads ./config.py).

A host that fails stops the whole run: with ``--serial`` a change that fails on one host
never reaches the next, and in parallel runs no new operation starts on other hosts.
"""

FAIL_PERCENT = 0
