# Two commands do the whole set-up on a fresh machine:
#   make run   - install, write the sample landing folder if it is empty, run the pipeline on it
#   make test  - install, lint, run the tests
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
LANDING ?= data/landing

.PHONY: run test install install-dev lint sample dev clean browser faketime docs lock

MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print) \
	$(wildcard regions/*/seeds/*.csv)

# `make run` installs the lean set (the pipeline); `make test`/`make lint` add the extras (pyproject.toml):
# dev tools, postgres (psycopg) and bench (psutil, openpyxl). Each set has its own stamp, so a `make test`
# after a `make run` still installs the extras.
install: $(VENV)/.installed $(MANIFEST)
install-dev: $(VENV)/.installed-dev $(MANIFEST)

# The dbt manifest is prepared at build time, never when the Dagster definitions are imported.
$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

# The whole tree is pinned by requirements.lock (pyproject.toml pins only the direct dependencies).
# The installer is uv (pinned here, bootstrapped with the venv's pip): it installs the same pinned tree as pip
# in ~20 s instead of 1-2 min. --compile-bytecode: as pip does, every module compiled once at install (where
# PYTHONDONTWRITEBYTECODE is set, as on this machine, nothing is compiled later: every process would compile
# Dagster, dbt and GX from source again); --native-tls: the system's certificates, as pip uses (/etc/pip.conf).
UV_VERSION := 0.13.9
UV := $(BIN)/uv pip install --quiet --native-tls --compile-bytecode --python $(BIN)/python -c requirements.lock
$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

# The project's own packages (an editable install, so uv leaves them) compiled too, for the same reason; a module
# edited later is compiled in memory until the next install.
PACKAGES := basics ingest warehouse expectations products orchestration tools fairshare tests
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/uv
	$(UV) -e .
	$(BIN)/python -m compileall -q -j 0 $(PACKAGES)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed | $(BIN)/uv
	$(UV) -e ".[dev]"
	touch $@

# Resolve pyproject.toml's dependencies afresh in a throwaway venv and pin the result in requirements.lock
# (every extra included: dev pulls postgres and bench, so one lock covers `make run` and `make test`).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet -e ".[dev]"
	{ sed -n '1,2p' requirements.lock; .venv-lock/bin/pip freeze --exclude-editable | grep -v '^fairshare'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .venv-lock

sample: install
	@if [ -z "$$(ls -A $(LANDING) 2>/dev/null)" ]; then $(BIN)/fairshare sample --out $(LANDING); \
	else echo "Landing folder $(LANDING) is not empty: keeping its files."; fi

# Sample data is pseudonymised with the documented demo key unless FAIRSHARE_PSEUDONYM_KEY is set.
run: sample
	$(BIN)/fairshare run --landing $(LANDING) $(if $(FAIRSHARE_PSEUDONYM_KEY),,--demo)

# ruff (lint, format, complexity) for Python; import-linter for the layers (pyproject.toml); sqlfluff (dbt templater, dbt_project/.sqlfluff) for the models' SQL, compiled against an
# in-memory DuckDB so linting never opens a warehouse; one sqlfluff process per core (26 s on one, 16 s on two).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	cd dbt_project && FAIRSHARE_WAREHOUSE=:memory: ../$(BIN)/sqlfluff lint models --processes 0

# The report is checked in headless Chromium: Debian's package, installed when missing (as root).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  { echo "chromium is missing: install Debian's chromium package (needed by tests/test_browser.py)"; exit 1; }
	@$(MAKE) -s --no-print-directory $(AXE)

# axe-core (the accessibility check of tests/test_board_print.py), pinned by tests/browser/package-lock.json and
# installed from npm on a clean clone; npm is Debian's package, installed when missing (as root).
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; } || \
	  { echo "npm is missing: install Debian's npm package (needed for axe-core, tests/browser/)"; exit 1; }
	cd tests/browser && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# The clock-skew test sets a process's clock with libfaketime: Debian's faketime, installed when missing (as root).
faketime:
	@command -v faketime >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; } || \
	  { echo "faketime is missing: install Debian's faketime package (needed by tests/test_hostile_runs.py)"; exit 1; }

test: lint browser faketime
	$(BIN)/pytest

# The instance runs one fairshare run at a time (orchestration/dagster.yaml): copied in when it has none.
# `fairshare run` records its runs in the same instance (orchestration/run.py, instance_home).
dev: install
	DAGSTER_HOME=$${DAGSTER_HOME:-$$(pwd)/data/dagster_home}; mkdir -p $$DAGSTER_HOME; \
	[ -f $$DAGSTER_HOME/dagster.yaml ] || cp orchestration/dagster.yaml $$DAGSTER_HOME/dagster.yaml; \
	if [ -z "$$FAIRSHARE_PSEUDONYM_KEY" ]; then export FAIRSHARE_DEMO=1; \
	echo "make dev: FAIRSHARE_PSEUDONYM_KEY is not set, so runs use demo mode (the documented, non-secret key): set it before reading real files."; \
	else echo "make dev: pseudonyms use FAIRSHARE_PSEUDONYM_KEY."; fi; \
	DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -w workspace.yaml

# dbt docs for the marts, as one self-contained page (needs a warehouse: run `make run` first).
docs: install
	cd dbt_project && FAIRSHARE_WAREHOUSE=$(abspath data/warehouse/fairshare.duckdb) ../$(BIN)/dbt docs generate --static --profiles-dir .
	@echo "Documentation: dbt_project/target/static_index.html"

clean:
	rm -rf $(VENV) data/warehouse data/reports data/serving
