# Everything runs from .venv (Python 3.13, the Lambda runtime), created on first use.
SHELL := /bin/bash
PY313_BIN := $(shell pyenv prefix 3.13.0 2>/dev/null)/bin
PYTHON := $(if $(wildcard $(PY313_BIN)/python3.13),$(PY313_BIN)/python3.13,python3.13)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# sam build looks for python3.13 on PATH (pyenv shims are not enough).
export PATH := $(BIN):$(PY313_BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
# checkov: no calls home for guidelines (offline machines).
export BC_SKIP_MAPPING := TRUE

.PHONY: venv demo-venv test unit lint typecheck template-lint security check build demo demo-docs container-test bench bench-quick lock lock-check clean

# Every install comes from a lock with hashes (requirements/*.txt, made by `make lock`), with
# --no-deps: the lock is the whole closure, and pip refuses a file whose hash differs.
PIP_LOCKED = -m pip install --quiet --require-hashes --no-deps
CHECKOV_VENV := $(VENV)/checkov

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

## venv: the dev venv (requirements/dev.txt: the demo's packages plus the test and lint tools)
venv: $(VENV)/.installed

$(VENV)/.installed: requirements/dev.txt pyproject.toml | $(VENV)/bin/python
	$(BIN)/python $(PIP_LOCKED) -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $@ $(VENV)/.demo-installed

# What `make demo` needs and nothing else (requirements/demo.txt, the same versions as the dev lock).
demo-venv: $(VENV)/.demo-installed

$(VENV)/.demo-installed: requirements/demo.txt pyproject.toml | $(VENV)/bin/python
	$(BIN)/python $(PIP_LOCKED) -r requirements/demo.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $@

# checkov in a venv of its own (requirements/checkov.in says why).
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python $(PIP_LOCKED) -r requirements/checkov.txt
	touch $@

## lock: re-resolve the locks from pyproject.toml and the .in files, keeping every pin that still
## fits (UPGRADE=1 takes the newest releases instead); review the diff, then `make test`
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.13 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
# The Lambda Python runtime provides these; the layer must not ship a second copy.
LAMBDA_RUNTIME_PACKAGES = boto3 botocore jmespath s3transfer urllib3 python-dateutil six

# uv makes the locks; it comes from the dev lock, so a pyproject.toml the locks do not match yet
# (the case `make lock` is for) does not stop it.
$(VENV)/bin/uv: requirements/dev.txt | $(VENV)/bin/python
	awk '/^uv==/ {p = 1} p {print} p && !/\\$$/ {exit}' requirements/dev.txt > $(VENV)/uv.txt
	$(BIN)/python $(PIP_LOCKED) -r $(VENV)/uv.txt
	touch $@

lock: $(VENV)/bin/uv
	$(UV_COMPILE) $(foreach p,$(LAMBDA_RUNTIME_PACKAGES),--no-emit-package $(p)) \
		layers/hygiene/requirements.in -o layers/hygiene/requirements.txt
	$(UV_COMPILE) pyproject.toml --extra dev -c layers/hygiene/requirements.txt -o requirements/dev.txt
	$(UV_COMPILE) pyproject.toml --extra demo -c requirements/dev.txt -o requirements/demo.txt
	$(UV_COMPILE) requirements/checkov.in -o requirements/checkov.txt

## lock-check: the locks are what `make lock` makes now (asks the package index)
lock-check: $(VENV)/bin/uv
	rm -rf $(VENV)/lock-check && mkdir -p $(VENV)/lock-check
	cp layers/hygiene/requirements.txt requirements/dev.txt requirements/demo.txt requirements/checkov.txt $(VENV)/lock-check/
	$(MAKE) --no-print-directory lock
	for f in layers/hygiene/requirements.txt requirements/dev.txt requirements/demo.txt requirements/checkov.txt; do \
		diff -u $(VENV)/lock-check/$$(basename $$f) $$f || { cp $(VENV)/lock-check/$$(basename $$f) $$f; failed=1; }; \
	done; test -z "$$failed"

## test: lint, type-check, scan the template, then the whole pytest suite
test: lint check
	$(BIN)/pytest

unit: venv
	$(BIN)/pytest tests/unit

lint: venv typecheck template-lint security
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

template-lint: venv
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

security: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

## check: the template's default schedule is valid and its next runs in its zone
check: venv
	$(BIN)/hygiene schedule "$$(sed -n '/^  Schedule:/,/Default:/s/^ *Default: *//p' template.yaml)" \
		--timezone "$$(sed -n '/^  ScheduleTimezone:/,/Default:/s/^ *Default: *//p' template.yaml)" --count 3

build: venv
	$(BIN)/sam build

## demo: a maintenance-window night on the offline stand-in, notifications as subscribers get them
## (SCENARIO=showcase|clean|large|partial|unreachable|incomplete-event|no-targets|macos|task-not-run|
## recurring|org, default showcase; docs/demo.md says what each plays)
demo: demo-venv
	$(BIN)/python -m local.demo --scenario $(or $(SCENARIO),showcase)

## demo-docs: regenerate the demo output README.md and docs/demo.md show (the night pinned; make test checks it)
demo-docs: venv
	$(BIN)/python -m local.demo.excerpts

## container-test: sam build, then sam local invoke of every function with every sample event
## in a Lambda container against the stand-in (needs a Docker engine; .ci/run installs one)
container-test: venv
	$(BIN)/pytest tests/container -p no:cacheprovider

.PHONY: invoke env-file

## invoke: sam local invoke of one function with one event in a Lambda container, offline against the
## stand-in, and the notification it published (EVENT=events/command-failed.json by default; FUNCTION
## defaults to the function the template's rules route the event to; BUILD_DIR=.aws-sam/build;
## needs a Docker engine; docs/local-invoke.md)
invoke: venv
	$(BIN)/python -m local.invoke $(if $(FUNCTION),--function $(FUNCTION)) $(if $(EVENT),--event $(EVENT)) \
		$(if $(BUILD_DIR),--build-dir $(BUILD_DIR))

## env-file: the env-vars file of a deployed stack for sam local invoke --env-vars against real AWS
## (STACK and REGION default to samconfig.toml's, OUT=env.json; reads the stack with your credentials)
env-file: venv
	$(BIN)/python -m local.env_file $(if $(STACK),--stack-name $(STACK)) $(if $(REGION),--region $(REGION)) \
		$(if $(OUT),--out $(OUT))

## bench: benchmarks on the offline stand-in (10-13 min, with the 1 GiB log): writes docs/benchmarks.md
bench: venv
	$(BIN)/python -m bench --with-1gb

## bench-quick: the same, smaller (under 2 min); CI runs it to keep the harness working
bench-quick: venv
	$(BIN)/python -m bench --quick --out $(or $(BENCH_OUT),/tmp/instance-hygiene-bench)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
