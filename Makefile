# Two commands for a fresh machine: `make demo` and `make test`. Both create the virtual
# environment .venv/ and install the project into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARTIFACTS ?= upstream
TEST_CACHE := .cache/test-artifacts
SANDBOX_DATA := .molecule/sandbox/artifacts.json

.PHONY: demo demo-down test test-unit test-e2e bench lint lock venv

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The sandbox host, the whole stack deployed into it, the URLs printed.
# ARTIFACTS=upstream (default) uses the real releases named in artifacts.lock.yaml;
# ARTIFACTS=test uses the offline test artifacts (stand-ins for Grafana, Loki, Tempo, Mimir).
demo: venv
ifeq ($(ARTIFACTS),test)
	$(BIN)/python -m tests.artifacts build --cache $(TEST_CACHE)
	@mkdir -p $(dir $(SANDBOX_DATA))
	cp $(TEST_CACHE)/test-data.json $(SANDBOX_DATA)
	@echo "demo: using the offline TEST artifacts: real Prometheus and redis_exporter," \
	      "stand-ins for Grafana, Loki, Tempo and Mimir"
else
	$(BIN)/obs-lock check
	rm -f $(SANDBOX_DATA)
endif
	$(BIN)/python -m tests.harness create sandbox
	$(BIN)/python -m tests.harness prepare sandbox
	$(BIN)/pyinfra -y inventories/dev.py deploys/stack.py
	@$(BIN)/python -m tests.harness urls sandbox
ifeq ($(ARTIFACTS),test)
	@echo "demo: Grafana, Loki, Tempo and Mimir above are STAND-INS (tests/standin), not the real programs"
endif

demo-down: venv
	$(BIN)/python -m tests.harness destroy sandbox
	rm -f $(SANDBOX_DATA)

test: test-unit test-e2e

test-unit: venv
	$(BIN)/python -m tests.artifacts build --cache $(TEST_CACHE)
	$(BIN)/python -m pytest tests/unit -q

test-e2e: venv
	$(BIN)/python -m tests.artifacts build --cache $(TEST_CACHE)
	$(BIN)/python -m tests.harness test default
	$(BIN)/python -m tests.harness test cluster
	$(BIN)/python -m tests.harness test safety

bench: venv
	$(BIN)/python -m tests.artifacts build --cache $(TEST_CACHE)
	$(BIN)/python tests/bench/converge.py

lint: venv
	$(BIN)/pip install --quiet ruff mypy
	$(BIN)/ruff check deploys tests
	$(BIN)/mypy deploys

# Fill in the lock's sha256 from the upstream checksum files (needs the internet).
lock: venv
	$(BIN)/obs-lock refresh
