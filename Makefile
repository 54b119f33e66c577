# Serverless workflows in Rust: build, test and demo on one machine, no AWS account.
# `make demo` and `make test` are all a new clone needs (Rust, Python 3, Node installed).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export AWS_REGION := us-east-1
export AWS_DEFAULT_REGION := us-east-1
export AWS_ACCESS_KEY_ID := test
export AWS_SECRET_ACCESS_KEY := test
export AWS_EC2_METADATA_DISABLED := true

.PHONY: setup build release test unit-test e2e-test demo stack-up stack-down stack-status lint fmt bench clean

## setup: the Python virtual environment (moto server, boto3, pytest, cargo-lambda)
setup: $(STAMP)

$(STAMP): requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## build: every crate and binary (debug)
build:
	cargo build --workspace --bins

## release: optimised, stripped function binaries (what Lambda runs) and the bench
release:
	cargo build --release --bins -p ingest -p friday -p signup -p bench

## test: unit tests, sfn-local's suite, then end-to-end tests against the local stack
test: setup build unit-test e2e-test

unit-test:
	cargo test --workspace

e2e-test: setup build
	@bash scripts/stack.sh up
	@set +e; $(VENV)/bin/pytest -q tests/e2e; status=$$?; bash scripts/stack.sh down; exit $$status

## demo: bring the stack up, run every workflow end to end, show what happened, stop
demo: setup build
	@bash scripts/stack.sh up
	@set +e; $(PY) scripts/demo.py; status=$$?; bash scripts/stack.sh down; exit $$status

## bench: cold start, size, memory, throughput -> docs/benchmarks.md, target/bench/results.json
bench: setup build release
	@bash scripts/stack.sh up
	@set +e; ./target/release/bench; status=$$?; bash scripts/stack.sh down; exit $$status

stack-up: setup build
	@bash scripts/stack.sh up

stack-down:
	@bash scripts/stack.sh down

stack-status:
	@bash scripts/stack.sh status

## lint: formatting, clippy, and every state machine definition validated
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@if ls statemachines/*.asl.json >/dev/null 2>&1; then cargo run --quiet -p sfn-local -- validate statemachines; fi

fmt:
	cargo fmt --all

clean: stack-down
	cargo clean
	rm -rf $(VENV) .stack
