# seedgate: `make serve` runs the gateway on its embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVING := $(VENV)/.serving
TEST_DATABASE_URL ?= postgresql://127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# The S3-compatible server of the tests (moto, started by `services`), and the bucket that
# the PostgreSQL pass keeps every gateway's media in.
S3_PORT ?= 4566
TEST_MEDIA_URL ?= s3://seedgate-test
export SEEDGATE_TEST_S3_ENDPOINT := http://127.0.0.1:$(S3_PORT)

.PHONY: serve services test test-sqlite test-postgres lint bench bench-upstream clean

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

test: $(STAMP) lint services test-sqlite test-postgres

# The servers the tests talk to, started unless already running (see .ci/services).
services: $(STAMP)
	BIN=$(BIN) S3_PORT=$(S3_PORT) .ci/services

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

# The embedded configuration: SQLite, state in the process, media on disk.
test-sqlite: $(STAMP) services $(CHROMIUM)
	$(PYTEST) -m 'not scale_out'

# The scale-out configuration: PostgreSQL, state shared through Redis, media in S3.
test-postgres: $(STAMP) services $(CHROMIUM)
	SEEDGATE_TEST_DATABASE_URL=$(TEST_DATABASE_URL) SEEDGATE_TEST_REDIS_URL=$(TEST_REDIS_URL) \
		SEEDGATE_TEST_MEDIA_URL=$(TEST_MEDIA_URL) \
		$(PYTEST) -m 'not store_agnostic'

bench: $(STAMP) services
	$(BIN)/python bench/run.py

bench-upstream: $(STAMP)
	$(BIN)/python bench/upstream.py

clean:
	rm -rf $(VENV) var .pytest_cache
