# AvelarSys: `make run` starts everything, `make test` checks everything.
# Needs only Python 3.11, make and a C compiler: uv is bootstrapped through pip when missing.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV_VERSION := 0.13.9
BOOTSTRAP := .avelar/bootstrap
UV := $(shell command -v uv 2>/dev/null || echo $(BOOTSTRAP)/bin/uv)
export UV_PYTHON ?= 3.11
export UV_LINK_MODE ?= copy
# Bytecode compiled once at install: where PYTHONDONTWRITEBYTECODE is set (this machine sets it),
# every process the tests and `make run` start would otherwise compile every library again.
export UV_COMPILE_BYTECODE ?= 1

.PHONY: install run test fuzz lint typecheck imports check-migrations bench clean help chromium

help:
	@echo "make run    - start the portal :8080, AvAdmin :8000, StockTech :8001, Lucrum :8002 with demo data"
	@echo "make test   - linters, type checks, import contracts and the whole test suite"
	@echo "make bench  - the modules against a bare Starlette + asyncpg reference (bench/README.md)"
	@echo "make chromium - install Debian's chromium for the portal's browser tests (needs root)"

$(BOOTSTRAP)/bin/uv:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet "uv==$(UV_VERSION)"

# Our own packages are installed editable (their sources stay in services/, libs/, tools/), so
# uv's compile step does not reach them: compiled here too (only what changed since), or every
# server and test process compiles all of our modules again at start (0.5 s each on 2 cores).
OUR_SOURCES := services/*/src libs/*/src tools/*/src examples/partner_module

install: $(if $(shell command -v uv 2>/dev/null),,$(BOOTSTRAP)/bin/uv)
	$(UV) sync --frozen --all-packages
	@$(UV) run --frozen python -m compileall -q -j 0 $(OUR_SOURCES) >/dev/null

run: install
	$(UV) run --frozen avelar-devstack run

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy -p avelar_kit -p avelar_devstack -p avelar_standins -p avadmin -p stocktech -p lucrum -p avelar_web
	$(UV) run --frozen lint-imports

test: lint
	$(UV) run --frozen pytest

# The long schemathesis run (make test runs the same with 4 examples per operation).
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(UV) run --frozen pytest -q \
		services/avadmin/tests/test_fuzz_openapi.py services/stocktech/tests/test_fuzz_openapi.py \
		services/lucrum/tests/test_fuzz_openapi.py

# wrk is the load generator (a separate process); Debian ships it.
bench: install
	@command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || \
		{ apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
	$(UV) run --frozen python bench/run.py
	$(UV) run --frozen python bench/avadmin_client.py

# The portal's browser tests (tests/integration/test_portal_browser.py) drive Debian's chromium
# through Playwright for Python; `playwright install` is never used. Without the browser those
# tests are skipped, so `make test` passes on a machine without it.
chromium:
	@test -x /usr/bin/chromium || apt-get install -y chromium >/dev/null || \
		{ apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
	@/usr/bin/chromium --version 2>/dev/null

clean:
	rm -rf .avelar/pg .avelar/redis
