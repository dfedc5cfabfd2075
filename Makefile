SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The venv is rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP) ## create .venv and install napkg with its test extras

# The whole suite in parallel, one test file per worker (module-scoped servers start once), then the tests
# marked serial (they assert times or timers, which a busy machine would break) one at a time.
test: lint typecheck ## set everything up and run every check: lint, types, then every test
	$(BIN)/napkg validate
	$(BIN)/pytest -n auto --dist loadfile -m "not serial"
	$(BIN)/pytest -m serial

test-fast: $(STAMP) ## the tests that start no server or browser and are not slow (under a minute)
	$(BIN)/pytest -n auto --dist loadfile -m "not slow and not server and not browser"

SOURCES := server tests benchmarks

lint: $(STAMP) ## ruff: lint and check the formatting
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

format: $(STAMP) ## apply ruff's safe fixes and its formatting
	$(BIN)/ruff check --fix $(SOURCES)
	$(BIN)/ruff format $(SOURCES)

typecheck: $(STAMP) ## mypy on server/napkg (settings in pyproject.toml)
	$(BIN)/mypy

validate: $(STAMP) ## validate the data against the shapes
	$(BIN)/napkg validate

build: $(STAMP) ## write the validated dumps to build/
	$(BIN)/napkg build --out build

serve: $(STAMP) ## set up, build the dumps and serve the graph on http://127.0.0.1:8000
	$(BIN)/napkg build --out build
	$(BIN)/napkg serve --host 127.0.0.1 --port 8000

bench: $(STAMP) ## compare our endpoint with rdflib-endpoint and Oxigraph server (benchmarks/)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

screenshots: $(STAMP) ## screenshots of the pages (desktop and phone) into build/screenshots/ (needs chromium)
	$(BIN)/python tests/screenshots.py

clean: ## remove build output and the venv
	rm -rf build $(VENV) .pytest_cache

.PHONY: help install test test-fast lint format typecheck validate build serve bench screenshots clean
