# seedgate: `make serve` runs the gateway on its embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVING := $(VENV)/.serving
TEST_DATABASE_URL ?= postgresql://127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: serve test test-sqlite test-postgres lint bench bench-upstream clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Serving needs the package alone; the test tools (the `dev` extra: SDKs, fuzzers, over
# 1 GB) come with `make test`. Either may come first in one .venv.
$(SERVING): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(SERVING)

serve: $(SERVING)
	SEEDGATE_HOME=$${SEEDGATE_HOME:-$(CURDIR)/var} $(BIN)/seedgate serve

test: $(STAMP) lint test-sqlite test-postgres

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

# Two test processes: the suite waits on servers and renders as much as it computes.
PYTEST := $(BIN)/pytest -q -n 2

# The console's tests drive Debian's Chromium with Playwright (whose own browser download
# cannot work here); installed as root when missing.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

test-sqlite: $(STAMP) $(CHROMIUM)
	$(PYTEST)

# The scale-out configuration: PostgreSQL, and state shared through Redis.
test-postgres: $(STAMP) $(CHROMIUM)
	SEEDGATE_TEST_DATABASE_URL=$(TEST_DATABASE_URL) SEEDGATE_TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(PYTEST)

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-upstream: $(STAMP)
	$(BIN)/python bench/upstream.py

clean:
	rm -rf $(VENV) var .pytest_cache
