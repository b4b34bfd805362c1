# Every target installs what it needs first (uv sync is a no-op when up to date).
UV := ./scripts/uv
RUN := $(UV) run --frozen --no-sync
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck unit integration e2e bench fmt contracts up down clean

install:
	$(UV) sync --frozen

run: install
	$(RUN) ikm dev up

test: install lint typecheck
	$(RUN) pytest -q $(PYTEST_ARGS)

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck:
	$(RUN) mypy

unit: install
	$(RUN) pytest -q tests/unit $(PYTEST_ARGS)

integration: install
	$(RUN) pytest -q tests/integration $(PYTEST_ARGS)

e2e: install
	$(RUN) pytest -q tests/e2e $(PYTEST_ARGS)

bench: install
	$(RUN) python -m bench

fmt: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

clean:
	rm -rf .ikm .pytest_cache .mypy_cache .ruff_cache
