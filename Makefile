# Steward developer entry points. Every target bootstraps .venv on its own.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test lint typecheck unit bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

up: $(VENV)/.installed
	$(BIN)/steward up

demo: $(VENV)/.installed
	$(BIN)/steward demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

test: lint typecheck unit

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.throughput

clean:
	rm -rf $(VENV) .steward .pytest_cache .mypy_cache .ruff_cache
