# Every target installs what it needs first (uv sync is a no-op when up to date).
UV := ./scripts/uv
RUN := $(UV) run --frozen --no-sync
PYTEST_ARGS ?=
# Test processes (pytest-xdist): 0 runs the suite in this process (the default), N spreads it
# over N processes: the packages that run stacks of service processes (e2e, chaos) one after
# another on one worker, never two stacks at once (session 24: two starved each other), the
# other modules over the rest (tests/support/schedule.py; --dist is then unused). Session 25,
# idle 2-core machine, same code: 8:38 in one process, 6:35 with PYTEST_WORKERS=2 (both
# passed, one run each); the default stays 0 until more runs show the pair never contends.
PYTEST_WORKERS ?= 0
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: install run test lint typecheck unit integration e2e chaos bench bench-scale fmt contracts contracts-check contracts-publish up down clean secrets

# The dependencies' bytecode is compiled at install ([tool.uv] compile-bytecode in pyproject.toml).
# Debian's chromium for the dashboard's browser tests: apt-get only when /usr/bin/chromium is missing.
# Debian's prometheus package for promtool (alert rule tests): apt-get only when promtool is missing.
# Debian's wrk for `make bench` (the registry's saturation load): apt-get only when wrk is missing.
install:
	$(UV) sync --frozen
	bash scripts/ensure-chromium
	bash scripts/ensure-promtool
	bash scripts/ensure-wrk

run: install
	$(RUN) ikm dev up

test: install lint typecheck
	$(RUN) pytest -q $(PARALLEL) $(PYTEST_ARGS)

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck:
	$(RUN) mypy

unit: install
	$(RUN) pytest -q tests/unit $(PARALLEL) $(PYTEST_ARGS)

integration: install
	$(RUN) pytest -q tests/integration $(PARALLEL) $(PYTEST_ARGS)

e2e: install
	$(RUN) pytest -q tests/e2e $(PARALLEL) $(PYTEST_ARGS)

# Fault injection on the embedded stack: one row of counts per fault (also in .ikm/chaos-report.json).
chaos: install
	$(RUN) pytest -q tests/chaos -rA $(PYTEST_ARGS)

bench: install
	$(RUN) python -m bench

# Not in CI nor in `make bench`: the campaign's 1.6 million enterprises end to end (long);
# SCALE_ENTERPRISES=50000 tries it small (docs/performance.md, "Scale").
bench-scale: install
	$(RUN) python -m bench._scale

fmt: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# One-host deployment with docker compose (needs a Docker engine; see docs/operations.md).
COMPOSE := docker compose -f deploy/compose/compose.yaml

# The compose stack's secrets (JWT secret, event-signing keys) in deploy/compose/.env,
# generated once and never committed; the services run with IKM_ENV=production.
secrets: install
	$(RUN) python scripts/gen_secrets.py compose

up: secrets
	$(COMPOSE) up --build --detach --wait

down:
	$(COMPOSE) down --volumes --remove-orphans

clean:
	rm -rf .ikm .pytest_cache .mypy_cache .ruff_cache

# Event contracts: JSON Schemas + AsyncAPI generated from contracts/ (commit the result);
# `make test` fails when they are stale or break a published schema (tests/unit/test_contracts_*).
contracts: install
	$(RUN) python -m contracts.generate

contracts-check: install
	$(RUN) python -m contracts.generate --check
	$(RUN) python -m contracts.generate --gate

# Release step: snapshot the committed schemas as the published ones (the gate's baseline).
contracts-publish: install
	$(RUN) python -m contracts.generate --publish
