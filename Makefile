# The two commands of the README's quick start are `make demo` and `make test`.
# Both create .venv (with uv inside it) on first use and sync every workspace package into it.

PYTHON ?= python3
VENV   := .venv
UV     := $(VENV)/bin/uv

.PHONY: setup demo test bench lint typecheck format

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv>=0.4"

setup: $(UV)
	$(UV) sync --all-packages --inexact --quiet

demo: setup
	$(VENV)/bin/wtb demo

test: typecheck
	$(VENV)/bin/pytest

bench: setup
	$(VENV)/bin/python -m benchmarks.overhead

lint: typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
