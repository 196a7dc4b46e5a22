# The two commands of the README: `make run` and `make test`. Both set up .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint install migrate worker bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Patronage needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## run: migrate the embedded SQLite database, load demo data once, serve on 127.0.0.1:8000
run: install
	$(BIN)/patronage db upgrade
	$(BIN)/patronage demo seed
	$(BIN)/patronage serve

## test: lint-imports, mypy --strict and the whole pytest suite (unit + integration on PostgreSQL)
test: install
	@bash scripts/ensure-postgres.sh
	$(BIN)/lint-imports --config importlinter.ini
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports --config importlinter.ini
	$(BIN)/mypy

migrate: install
	$(BIN)/patronage db upgrade

worker: install
	$(BIN)/patronage worker

## bench: the hot paths' throughput as ratios to a bare endpoint (installs wrk if it may)
bench: install
	@bash scripts/ensure-postgres.sh
	@bash scripts/ensure-wrk.sh
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
