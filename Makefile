# Two commands for a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet

.PHONY: install lock run test test-postgres test-shifted-clock test-crash mutation lint format openapi migrate demo-clinic bench clean

# Installs come from the hash-locked requirements/dev.lock, never from pyproject's ranges;
# `make lock` re-resolves after a dependency change (and a test fails until it is run).
$(BIN)/.installed: pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed

## Re-resolve the locks from pyproject.toml: the service's (the image) and the dev one.
lock:
	test -x $(BIN)/uv || (test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV); $(BIN)/pip install --quiet uv)
	$(LOCK) -o requirements/main.lock
	$(LOCK) --extra dev -o requirements/dev.lock

## API + worker on SQLite with the sandbox provider; prints a demo clinic's API key.
run: install
	VENV=$(VENV) scripts/run-local.sh

## The whole suite (SQLite unless TEST_DATABASE_URL says otherwise).
test: install
	$(BIN)/pytest -q

test-postgres: install
	TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test $(BIN)/pytest -q

## No test may depend on the calendar: the suite again with the clock a year ahead,
## through libfaketime (Debian: faketime). SHIFT='-365d' runs it a year back.
SHIFT ?= +365d
test-shifted-clock: install
	faketime -f '$(SHIFT)' $(BIN)/pytest -q

## Kills real worker processes mid-run on PostgreSQL + Redis (slow).
test-crash: install
	TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test $(BIN)/pytest -q -m crash

## Mutation testing of the pure rule modules (slow; not part of CI).
mutation: install
	$(BIN)/pip install --quiet mutmut
	rm -rf mutants
	$(BIN)/mutmut run; $(BIN)/mutmut results

lint: install
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/mypy app

format: install
	$(BIN)/ruff check --fix app tests migrations bench
	$(BIN)/ruff format app tests migrations bench

openapi: install
	$(BIN)/python -m app.cli openapi > openapi/openapi.json

migrate: install
	$(BIN)/python -m app.cli migrate

demo-clinic: install
	$(BIN)/python -m app.cli demo-clinic

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .hypothesis
