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

.PHONY: venv test unit lint typecheck template-lint security check build demo demo-docs container-test bench-venv bench bench-quick clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

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

security: venv
	$(BIN)/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

## check: the template's default schedule is valid and its next runs in its zone
check: venv
	$(BIN)/hygiene schedule "$$(sed -n '/^  Schedule:/,/Default:/s/^ *Default: *//p' template.yaml)" \
		--timezone "$$(sed -n '/^  ScheduleTimezone:/,/Default:/s/^ *Default: *//p' template.yaml)" --count 3

build: venv
	$(BIN)/sam build

## demo: a maintenance-window night on the offline stand-in, notifications as subscribers get them
## (SCENARIO=showcase|clean|large|partial|unreachable|incomplete-event|no-targets|macos|task-not-run,
## default showcase; docs/demo.md says what each plays)
demo: venv
	$(BIN)/python -m local.demo --scenario $(or $(SCENARIO),showcase)

## demo-docs: regenerate the demo output README.md and docs/demo.md show (the night pinned; make test checks it)
demo-docs: venv
	$(BIN)/python -m local.demo.excerpts

## container-test: sam build, then sam local invoke of every function with every sample event
## in a Lambda container against the stand-in (needs a Docker engine; .ci/run installs one)
container-test: venv
	$(BIN)/pytest tests/container -p no:cacheprovider

# The bench's extra packages (pyproject's `bench` extra: detect-secrets) on top of the dev venv, in
# their own folder: checkov's bc-detect-secrets owns the same `detect_secrets` package directory in
# site-packages (bench/README.md). Only bench/secrets.py's worker reads it; `make test` needs none.
BENCH_SITE := $(VENV)/bench-site

bench-venv: $(VENV)/.bench-installed

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	rm -rf $(BENCH_SITE)
	$(BIN)/python -m pip install --quiet --no-deps --target $(BENCH_SITE) \
		$$($(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench'])")
	touch $@

## bench: benchmarks on the offline stand-in (10-13 min, with the 1 GiB log): writes docs/benchmarks.md
bench: bench-venv
	$(BIN)/python -m bench --with-1gb

## bench-quick: the same, smaller (under 2 min); CI runs it to keep the harness working
bench-quick: bench-venv
	$(BIN)/python -m bench --quick --out $(or $(BENCH_OUT),/tmp/instance-hygiene-bench)

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
