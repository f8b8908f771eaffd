# The single entry point for people and CI. Every target creates .venv on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck schema-check unit soak bench clean regen

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The compiled accelerator is built by the editable install: rebuild when its source changes.
NATIVE := setup.py src/connector_sync_contracts/_engine/native/_native.c

$(STAMP_RUN): pyproject.toml $(NATIVE) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml $(NATIVE) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,cloudevents]"
	touch $@ $(STAMP_RUN)

EXAMPLE := src/connector_sync_contracts/examples/example_day.jsonl

demo: $(STAMP_RUN)
	@echo "== connector-sync replay $(EXAMPLE)"
	@$(BIN)/connector-sync replay $(EXAMPLE)
	@echo
	@echo "== connector-sync replay --format json --no-logs --connector jira-acme-cloud $(EXAMPLE)"
	@$(BIN)/connector-sync replay --format json --no-logs --connector jira-acme-cloud $(EXAMPLE)

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

# Every generated, committed file (schemas, AsyncAPI, docs page, engine spec, goldens).
REGEN := $(BIN)/python -m connector_sync_contracts._tooling.regen

schema-check: $(STAMP_DEV)
	$(REGEN) --check

unit: $(STAMP_DEV)
	$(BIN)/python -m pytest

test: lint typecheck schema-check unit

# Long Hypothesis runs: every property, agreement and fuzz test with its soak profile.
soak: $(STAMP_DEV)
	CSC_SOAK=1 $(BIN)/python -m pytest -p no:cacheprovider tests/property tests/conformance tests/unit

bench: $(STAMP_RUN)
	$(BIN)/python bench/run.py

regen: $(STAMP_DEV)
	$(REGEN) --write

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
