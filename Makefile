# The two set-up commands: `make demo` runs the main job, `make test` runs everything CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint unit install-dev bench clean

# The engine's sources are prerequisites: setup.py compiles them (mypyc) into extensions beside them,
# which Python would otherwise keep importing after a source changes (tests/conftest.py refuses that).
$(BIN)/kms-why: pyproject.toml setup.py $(wildcard bot/policy/*.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/kms-why
	$(BIN)/kms-why demo

lint: $(BIN)/kms-why
	$(BIN)/ruff check bot handlers tests benchmarks
	$(BIN)/mypy --strict bot handlers

unit: $(BIN)/kms-why
	$(BIN)/pytest -q -p no:cacheprovider

# The chart tests in tests/deploy need the tools that .ci/deploy-checks installs, so it runs first.
test: lint deploy-lint unit

bench: $(BIN)/kms-why
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/parse.py
	$(BIN)/python benchmarks/web_ack.py
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache bot/policy/*.so

# Image, chart and IAM templates: hadolint, helm lint/template, kubernetes-validate, checkov, cfn-lint,
# then the pytest assertions on the rendered chart (tools install themselves into .ci/tools/).
.PHONY: deploy-check deploy-lint
deploy-lint: $(BIN)/kms-why
	.ci/deploy-checks

deploy-check: deploy-lint
	$(BIN)/pytest -q -p no:cacheprovider tests/deploy
