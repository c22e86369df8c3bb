# Steward developer entry points. Every target bootstraps .venv on its own.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test lint typecheck unit chaos docs bench soak demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The real OPA engine in process (steward policy test/check). Its metadata asks for Python
# 3.14 but it runs on 3.11, which pyproject cannot express: installed on its own, no deps.
OPA_BINDINGS := opa-golib-python-bindings==0.4.4

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python $(OPA_BINDINGS)
	touch $@

$(VENV)/.installed-dev: pyproject.toml packs/postgres/pyproject.toml packs/ssh/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -e packs/postgres
	$(BIN)/pip install --quiet -e packs/ssh
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python $(OPA_BINDINGS)
	touch $(VENV)/.installed $@

up: $(VENV)/.installed
	$(BIN)/steward up

demo: $(VENV)/.installed
	$(BIN)/steward demo

# Rego: no opa CLI or Regal installs from the registries here, so `steward policy lint`
# stands in for opa fmt --fail, opa check --strict and Regal on the in-process OPA engine
# (activities/policy/lint.py says what each part covers and what it does not).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/steward policy lint --dir policies

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# The real Prometheus and Alertmanager for the detection end-to-end tests, from Debian's
# packages (the machine's package manager; needs root, as CI has). Installed only when missing.
E2E_TOOLS := /usr/bin/prometheus /usr/bin/prometheus-alertmanager

$(E2E_TOOLS):
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		prometheus prometheus-alertmanager \
	|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends prometheus prometheus-alertmanager)

# The real OpenSSH server for the SSH pack's tests (packs/ssh), from Debian's package.
SSH_TOOLS := /usr/sbin/sshd

$(SSH_TOOLS):
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server \
	|| (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends openssh-server)

unit: $(VENV)/.installed-dev | $(E2E_TOOLS) $(SSH_TOOLS)
	$(BIN)/pytest

# SIGKILL of workers, Temporal, the API and the demo target under a real stack, mid-flight
# (tests/chaos; a few minutes). Excluded from the plain pytest run, so it runs once.
chaos: $(VENV)/.installed-dev
	$(BIN)/pytest -m chaos tests/chaos

# The documentation site (docs/, mkdocs.yml) into site/. Strict: a broken link or a page
# missing from the nav is an error, so make test fails on it.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint typecheck docs unit chaos

# Every benchmark, one JSON document each (see docs/benchmarks.md).
BENCHMARKS := throughput policy_latency detectors triage metric_to_incident refusals

bench: $(VENV)/.installed-dev | $(E2E_TOOLS)
	@for name in $(BENCHMARKS); do $(BIN)/python -m bench.$$name || exit 1; done

# 30 minutes at a steady incident rate with approvals (MINUTES=2 for a short run).
MINUTES ?= 30

soak: $(VENV)/.installed-dev
	$(BIN)/python -m bench.soak --minutes $(MINUTES)

clean:
	rm -rf $(VENV) .steward .pytest_cache .mypy_cache .ruff_cache site
