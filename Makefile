# Two commands do all set-up on a fresh machine (Python 3.11+):
#   make run    installs the server and starts it with embedded defaults
#   make test   installs what the tests need and runs lint, type checks and the tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test lint typecheck pytest services bench messages clean

run: $(STAMP)
	$(BIN)/hearing-server serve

test: $(STAMP) services lint typecheck pytest

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $@

# PostgreSQL and Redis are real servers in the tests; start them if this machine has them stopped.
services:
	@bash scripts/ensure-services

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.sfu

# After changing page text: re-extract strings into web/locale/vi/LC_MESSAGES/*.po, then translate.
messages: $(STAMP)
	PYBABEL=$(BIN)/pybabel scripts/extract-messages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
