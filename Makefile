# One task runner for everything a person or CI does.
# `make test` is the README's test command and what .ci/run calls.

CARGO ?= cargo

.PHONY: all example test lint fmt unit corpus corpus-check regen bench schema clean

all: test

## The main job: validate the bundled example.
example:
	$(CARGO) run -q -p gangway-cli -- validate examples/token-factory/packet.yaml --registry examples/token-factory/registry.yaml

## Every check: formatting, lints, unit/integration/property tests, the corpus, and
## that regenerating the corpus changes nothing.
test: lint unit corpus-check

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

## Criterion benchmarks (parse, validate against a 10,000-entry registry, progress, CLI).
bench:
	$(CARGO) build -q --release -p gangway-cli
	$(CARGO) bench -p gangway --bench validate

schema:
	$(CARGO) run -q -p gangway-cli -- schema --output docs/packet.schema.json

clean:
	$(CARGO) clean
