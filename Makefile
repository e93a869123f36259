# Two commands do all set-up on a fresh machine (Python 3.11+):
#   make run    installs the server and starts it with embedded defaults
#   make test   installs what the tests need and runs lint, type checks and the tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml package-lock.json | sha1sum | cut -c1-12)

.PHONY: run test lint typecheck pytest services browser fonts bench bench-fanout bench-composition messages clean

run: $(STAMP) fonts
	$(BIN)/hearing-server serve

test: $(STAMP) services browser fonts lint typecheck pytest

$(STAMP): pyproject.toml package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	npm ci --no-audit --no-fund --loglevel=error
	rm -f $(VENV)/.installed-* && touch $@

# PostgreSQL and Redis are real servers in the tests; start them if this machine has them stopped.
services:
	@bash scripts/ensure-services

# Browser tests run Debian's Chromium with a fake camera and microphone.
browser:
	@bash scripts/ensure-chromium

# The minutes' PDF embeds DejaVu Serif (Vietnamese letters): Debian's fonts-dejavu-core.
fonts:
	@bash scripts/ensure-fonts

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.sfu

# 1 publisher to M receive-only participants: the largest M one core forwards without loss.
bench-fanout: $(STAMP)
	$(BIN)/python -m benchmarks.sfu --fanout

bench-composition: $(STAMP)
	$(BIN)/python -m benchmarks.composition

# After changing page text: re-extract strings into web/locale/vi/LC_MESSAGES/*.po, then translate.
messages: $(STAMP)
	PYBABEL=$(BIN)/pybabel scripts/extract-messages

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
