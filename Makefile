# uidt — the two set-up commands are `make demo` and `make test`; both work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: test lint typecheck pytest demo bench badday clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -U pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

test: lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(VENV)/bin/pytest -q

demo: $(STAMP)
	$(PY) -m uidt.demo

bench: $(STAMP)
	$(PY) -m bench

# The bad-day reliability benchmark (root, network namespaces; tools: bench/install-tools).
# BADDAY_ARGS: e.g. --seeds 3; see docs/reliability.md.
BADDAY_STAMP := $(VENV)/.bench-installed-stamp
$(BADDAY_STAMP): $(STAMP)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	@touch $(BADDAY_STAMP)

badday: $(BADDAY_STAMP)
	$(PY) -m bench badday $(BADDAY_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist
