# Quick start: `make run` (install + the whole pipeline on embedded defaults), `make test` (the test suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export MLFLOW_DISABLE_TELEMETRY ?= true
export BENTOML_DO_NOT_TRACK ?= true
export DO_NOT_TRACK ?= 1
export GX_ANALYTICS_ENABLED ?= False

.PHONY: install run test test-sqlite test-postgres bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/abtpro run

# The whole suite twice: on SQLite, then on PostgreSQL (started first if it is installed but stopped). Tests
# marked own_postgres use private PostgreSQL databases whatever the backend, and tests marked db_free (the pure
# ml/ package's) never open the app database, so the second pass skips both.
test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	env -u DATABASE_URL $(BIN)/pytest --durations=15

test-postgres: $(STAMP)
	@if bash infra/ensure_postgres.sh "$(PG_URL)"; then \
		DATABASE_URL="$(PG_URL)" $(BIN)/pytest --durations=15 -m "not own_postgres and not db_free"; \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL at $(PG_URL) is not reachable: the PostgreSQL pass is required in CI"; exit 1; \
	else \
		echo "WARNING: PostgreSQL at $(PG_URL) is not reachable: the PostgreSQL pass did NOT run"; \
	fi

clean:
	rm -rf .abtpro
