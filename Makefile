# One task runner for everything a person or CI does.
# `make test` is the README's test command and what .ci/run calls.

CARGO ?= cargo
PYTHON ?= python3
# The Python binding's virtual environment and its build (a target folder of its own,
# so cargo's and maturin's differing PyO3 settings do not rebuild each other's crates).
VENV ?= .venv
VENV_PY := $(VENV)/bin/python
PY_TARGET := $(abspath target/python)
MATURIN := cd bindings-python && CARGO_TARGET_DIR=$(PY_TARGET) VIRTUAL_ENV=$(abspath $(VENV)) PATH="$(abspath $(VENV))/bin:$$PATH" maturin develop -q

.PHONY: all example test lint fmt unit corpus corpus-check regen bench schema clean python python-build python-release bench-python notebook

all: test

## The main job: validate the bundled example.
example:
	$(CARGO) run -q -p gangway-cli -- validate examples/token-factory/packet.yaml --registry examples/token-factory/registry.yaml

## Every check: formatting, lints, unit/integration/property tests, the corpus,
## that regenerating the corpus changes nothing, and the Python binding.
test: lint unit corpus-check python

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -q -- -D warnings

unit:
	$(CARGO) test --workspace -q

corpus:
	$(CARGO) test -q -p gangway-conformance --test corpus

## Fails if `make regen` would change any generated case or expected.json.
corpus-check:
	$(CARGO) run -q -p gangway-conformance --bin regen -- --check

## Rewrites generated cases and every expected.json; review the diff before committing.
regen:
	$(CARGO) run -q -p gangway-conformance --bin regen

fmt:
	$(CARGO) fmt --all

## The Python binding: creates .venv/ (once), installs maturin and the pinned test
## requirements (again only when the requirements file changes), builds the extension
## (`maturin develop`, debug), then checks the type stubs against it (stubtest), runs
## mypy --strict and ruff (lint and format), and pytest: the whole corpus, the idiom
## tests and the example notebook.
python: python-build
	cd bindings-python && ../$(VENV_PY) -m mypy.stubtest gangway
	cd bindings-python && ../$(VENV_PY) -m mypy
	cd bindings-python && ../$(VENV_PY) -m ruff check --quiet . ../scripts
	cd bindings-python && ../$(VENV_PY) -m ruff format --check --quiet . ../scripts
	cd bindings-python && ../$(VENV_PY) -m pytest -q

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.requirements-installed: bindings-python/requirements-test.txt | $(VENV_PY)
	$(VENV_PY) -m pip install -q --disable-pip-version-check -r bindings-python/requirements-test.txt
	touch $@

python-build: $(VENV)/.requirements-installed
	$(MATURIN)

python-release: $(VENV)/.requirements-installed
	$(MATURIN) --release

## Re-executes docs/examples/review.ipynb and stores its outputs (review the diff).
notebook: python-build
	$(VENV_PY) scripts/refresh_notebook.py

## Python binding benchmark: per-call overhead against Rust, and jsonschema /
## fastjsonschema on the same packet (release build).
bench-python: python-release
	$(VENV_PY) scripts/bench_python.py

## Criterion benchmarks (parse, validate against a 10,000-entry registry, progress, CLI;
## the run-time guards against the same size of registry).
bench:
	$(CARGO) build -q --release -p gangway-cli
	$(CARGO) bench -p gangway --bench validate
	$(CARGO) bench -p gangway --bench guards
	$(CARGO) bench -p gangway --bench billing

schema:
	$(CARGO) run -q -p gangway-cli -- schema --output docs/packet.schema.json

clean:
	$(CARGO) clean
	rm -rf $(VENV) bindings-python/python/gangway/*.so
