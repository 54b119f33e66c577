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

.PHONY: setup build release release-arm64 test test-crash unit-test wiring-test e2e-test demo stack-up stack-down stack-status lint sam-validate deploy deploy-function undeploy fmt bench fuzz clean

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
	cargo build --release --bins -p ingest -p friday -p signup -p enrollment -p bench

## release-arm64: the function binaries as Lambda runs them (cargo lambda, arm64) -> target/lambda/<bin>/bootstrap
release-arm64: setup
	@target="$${CARGO_TARGET_DIR:-target}"; PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/cargo-lambda lambda build --release --arm64 \
	  -p ingest -p friday -p signup -p enrollment --lambda-dir "$$target/lambda"

## test: lint, unit tests, sfn-local's suite, the template's wiring, then end-to-end tests against the local stack
test: setup build lint unit-test wiring-test e2e-test

unit-test:
	cargo test --workspace

## wiring-test: infra/template.yaml, statemachines/ and the code agree (offline, no stack)
wiring-test: setup
	$(VENV)/bin/pytest -q tests/wiring

# Three passes: on the virtual clock (Waits complete at once); on a manual clock for the tests
# that act "during the wait" and advance it themselves; with fault proxies in the way for the
# injected-fault tests. The 100,000-row volume test runs first, so every other module shows it
# does not depend on running before it.
e2e-test: setup build
	@bash scripts/stack.sh up
	@set +e; $(VENV)/bin/pytest -q tests/e2e/test_volume.py && \
	  $(VENV)/bin/pytest -q -m "not manual_clock and not faults and not crash" --deselect tests/e2e/test_volume.py tests/e2e; \
	  status=$$?; bash scripts/stack.sh down; exit $$status
	@SFN_LOCAL_CLOCK=manual bash scripts/stack.sh up
	@set +e; $(VENV)/bin/pytest -q -m manual_clock tests/e2e; status=$$?; bash scripts/stack.sh down; exit $$status
	@STACK_FAULTS=1 bash scripts/stack.sh up
	@set +e; $(VENV)/bin/pytest -q -m faults tests/e2e; status=$$?; bash scripts/stack.sh down; exit $$status

## test-crash: csv-processor killed in the middle of a 500,000-row file (CRASH_ROWS); about 7 minutes, so
## apart from make test; CI runs both
test-crash: setup build
	@bash scripts/stack.sh up
	@set +e; $(VENV)/bin/pytest -q -s -m crash tests/e2e; status=$$?; bash scripts/stack.sh down; exit $$status

## demo: bring the stack up, run every workflow end to end, show what happened, stop
# On a manual clock by default: the sign-up story needs to act "during the day"; the demo
# fast-forwards every other Wait itself.
demo: setup build
	@SFN_LOCAL_CLOCK=$${SFN_LOCAL_CLOCK:-manual} bash scripts/stack.sh up
	@set +e; $(PY) scripts/demo.py; status=$$?; bash scripts/stack.sh down; exit $$status

## bench: cold start, size, memory, throughput -> docs/benchmarks.md, target/bench/results.json
bench: setup build release release-arm64
	@bash scripts/stack.sh up
	@set +e; target="$${CARGO_TARGET_DIR:-target}"; "$$target/release/bench" --bin-dir "$$target/release" \
	  --arm64-dir "$$target/lambda" --results "$$target/bench/results.json"; status=$$?; bash scripts/stack.sh down; exit $$status

## fuzz: every fuzz target (fuzz/) for FUZZ_SECONDS each (default 60) with cargo-fuzz on the stable
## toolchain (installed into .tools/), then each target's executions/s and corpus size; not in `make test`
FUZZ_SECONDS ?= 60
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

stack-up: setup build
	@bash scripts/stack.sh up

stack-down:
	@bash scripts/stack.sh down

stack-status:
	@bash scripts/stack.sh status

# asl-validator (npm), pinned by tools/asl-validator/package-lock.json.
ASL_VALIDATOR := tools/asl-validator/node_modules/.bin/asl-validator
$(ASL_VALIDATOR): tools/asl-validator/package.json tools/asl-validator/package-lock.json
	npm ci --prefix tools/asl-validator --no-audit --no-fund --silent
	touch $@

## lint: formatting, clippy, every state machine definition validated (sfn-local's validator and
## asl-validator), and the SAM template (cfn-lint)
lint: setup $(ASL_VALIDATOR)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo run --quiet -p sfn-local -- validate statemachines
	$(ASL_VALIDATOR) $(foreach f,$(wildcard statemachines/*.asl.json),--json-path $(f))
	$(VENV)/bin/cfn-lint infra/template.yaml

# The AWS SAM CLI (~340 MB, ~1.5 min to install) only for the targets that need it, not `make setup`.
DEPLOY_STAMP := $(VENV)/.deploy-installed
$(DEPLOY_STAMP): requirements-deploy.txt $(STAMP)
	$(VENV)/bin/pip install --quiet -r requirements-deploy.txt
	touch $(DEPLOY_STAMP)

# The stack's fake credentials and region exported above must not reach AWS; sam build finds
# cargo-lambda (and its zig) in the virtual environment.
AWS_REAL := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED -u AWS_REGION -u AWS_DEFAULT_REGION SAM_CLI_TELEMETRY=0 PATH="$(abspath $(VENV))/bin:$$PATH"
SAM := $(abspath $(VENV))/bin/sam

## sam-validate: the template through SAM's own validator and linter (offline)
sam-validate: $(DEPLOY_STAMP)
	cd infra && SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1

## deploy: sam build (cargo-lambda, arm64, no Docker), then sam deploy (--guided the first time: writes infra/samconfig.toml)
deploy: $(DEPLOY_STAMP)
	cd infra && $(AWS_REAL) $(SAM) build --beta-features
	@if [ -f infra/samconfig.toml ]; then cd infra && $(AWS_REAL) $(SAM) deploy; \
	else cd infra && $(AWS_REAL) $(SAM) deploy --guided --capabilities CAPABILITY_IAM; fi

## deploy-function: rebuild one function (release, arm64) and update it alone, e.g. make deploy-function FN=csv-processor
# Memory, timeout and tracing come from [workspace.metadata.lambda.bin.<FN>.deploy] in Cargo.toml
# (the template's values: tests/wiring holds them together); the environment SAM set is kept.
# The function is <stack>-<FN>; the stack's name is read from infra/samconfig.toml unless STACK is given.
deploy-function: setup
	@test -n "$(FN)" || { echo "usage: make deploy-function FN=<binary> [STACK=<stack name>]" >&2; exit 2; }
	@stack="$${STACK:-$$(sed -n 's/^stack_name *= *"\(.*\)"/\1/p' infra/samconfig.toml 2>/dev/null | head -n 1)}"; \
	if [ -z "$$stack" ]; then echo "no stack name: run 'make deploy' first, or give STACK=<name>" >&2; exit 2; fi; \
	$(AWS_REAL) $(VENV)/bin/cargo-lambda lambda build --release --arm64 --bin "$(FN)" && \
	$(AWS_REAL) $(VENV)/bin/cargo-lambda lambda deploy --binary-name "$(FN)" "$$stack-$(FN)"

## undeploy: empty the two buckets (every version), then delete the stack
undeploy: $(DEPLOY_STAMP)
	$(AWS_REAL) $(PY) scripts/undeploy.py
	cd infra && $(AWS_REAL) $(SAM) delete

fmt:
	cargo fmt --all

clean: stack-down
	cargo clean
	rm -rf $(VENV) .stack tools/asl-validator/node_modules fuzz/target
