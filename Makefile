# Fixline: `make run` starts everything on the embedded default; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

.PHONY: install run call test scenarios bench schema schema-check kb emulators system-deps deploy-check clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python dependencies into $(VENV) (pinned by constraints.txt)..."
	@$(PIP) install -q --disable-pip-version-check -c constraints.txt -e '.[dev,test]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

## Debian packages some tests need (headless Chromium for the dashboard test).
system-deps:
	@bash deploy/scripts/system-deps.sh

## RUN_ARGS=--json: the services' JSON log lines even on a terminal.
run: install
	$(PY) -m fixline run $(RUN_ARGS)

## Ring a property through the emulated Twilio carrier (needs `make run` in another terminal).
call: install
	$(PY) -m fixline call

## The scenarios run beside the rest (tests/run_suite.sh); PYTEST_ARGS=... runs just that, in one pytest.
test: install system-deps
	@bash tests/run_suite.sh $(PY) $(PYTEST_ARGS)

## The repair stories end to end on the emulators, with a results table (also part of `make test`).
scenarios: install
	$(PY) -m pytest tests/scenarios -q -p no:randomly $(PYTEST_ARGS)

## The rendered deploy/k8s manifests as containers, no cluster (root, podman, debootstrap, kubectl).
deploy-check: install
	@bash deploy/scripts/deploy-check-deps.sh
	$(PY) deploy/check/run.py

bench: install
	$(PY) -m bench

schema: install
	$(PY) -m fixline.schema

schema-check: install
	$(PY) -m fixline.schema --check

## Embed the maintenance KB for the active provider (DATABASE_URL; EMBEDDING_PROVIDER=local|gemini).
kb: install
	$(PY) -m services.tools.kb

emulators: install
	$(PY) -m emulators

clean:
	rm -rf .state .pytest_cache
	git clean -fdqX artifacts 2>/dev/null || rm -rf artifacts  # keeps the screenshots committed there

## ruff + mypy (config in pyproject.toml). `make test` runs the same through tests/test_lint.py.
.PHONY: lint
lint: install
	$(PY) -m ruff check services proto fixline emulators tests bench
	$(PY) -m mypy
