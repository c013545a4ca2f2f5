# The two commands of the README's quick start are `make demo` and `make test`.
# Both create .venv (with uv inside it) on first use and sync every workspace package into it.

PYTHON ?= python3
VENV   := .venv
UV     := $(VENV)/bin/uv

.PHONY: setup demo test bench lint typecheck format browser

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv>=0.4"

setup: $(UV)
	$(UV) sync --all-packages --inexact --quiet

demo: setup
	$(VENV)/bin/wtb demo

test: typecheck browser
	$(VENV)/bin/pytest

# The dashboard's browser tests drive Debian's headless Chromium (Playwright cannot
# download its own browsers here); installed on first use.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

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
