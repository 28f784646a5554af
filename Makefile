# Targets people and CI both use. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

# Two pytest-xdist workers per pass (CI's machines have 2 cores; make test runs two passes at
# once). make check's one pass takes four: the suite mostly waits, and two workers leave a core
# idle.
TEST_WORKERS ?= 2
CHECK_WORKERS ?= 4
# --dist loadfile: a module's tests share one worker, so a server or browser built once per
# module (and tests that follow one phone in order) stay together. Not loadgroup: on pytest 9.2
# pytest-xdist 3.8 cannot rename node ids, and its groups silently split.
PYTEST_WITH = $(PY) -m pytest -q -n $(1) --dist loadfile
PYTEST := $(call PYTEST_WITH,$(TEST_WORKERS))
# `make check` leaves these out: they need a browser or PostgreSQL, or take minutes.
CHECK_MARKS := not browser and not postgres and not slow

.PHONY: install demo serve check test test-js test-databases test-sqlite test-postgres lint fmt bench \
	soak screenshots clean

$(BIN)/posko: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# The browser scripts need no build; ESLint (package.json) lints them, Node runs their tests.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "needs Node.js and npm (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --silent
	@touch $@

install: $(BIN)/posko node_modules/.package-lock.json ## .venv with Posko and its test tools; ESLint

demo: $(BIN)/posko ## the server with dashboard and simulated field units, on SQLite
	$(BIN)/posko demo

serve: $(BIN)/posko ## the server alone
	$(BIN)/posko serve

check: install lint test-js ## the quick loop (< 3 min): lint, JS tests, no browser/PostgreSQL/slow tests
	$(call PYTEST_WITH,$(CHECK_WORKERS)) -m "$(CHECK_MARKS)"

test: install lint test-js test-sqlite test-postgres ## everything CI checks

# Both passes at once, for a machine with cores to spare. On the 2-core machines here it was no
# faster (7 Dec 2026: 23 min against ~20 one after the other; the SQLite pass alone went from
# ~12 to ~23 min at a load average of ~15) and the phone app's offline browser tests failed under
# that load, so `make test` runs the passes one after the other. They cannot collide: each test
# has its own database (a temporary file, or a uniquely named PostgreSQL one), port (bound by the
# kernel), Redis key prefix and temporary directory; the PostgreSQL pass keeps its own pytest
# cache. --output-sync: each pass's output is printed whole when it ends; make fails if either does.
test-databases: install ## the SQLite and PostgreSQL passes at the same time (many cores)
	@echo "SQLite and PostgreSQL passes running at once; each prints its output when it ends"
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) -j2 --output-sync=target \
		test-sqlite test-postgres

test-js: ## the live client (recorded frames) and the phone app (tests/js/lapor), under Node (no browser)
	node --test tests/js/

test-sqlite: install ## the whole suite on SQLite
	$(PYTEST)

# The tests that never touch the database ran in the SQLite pass: only the others run again.
test-postgres: install ## the database tests on PostgreSQL (skip with a reason if none is reachable)
	POSKO_TEST_DB=postgres $(PYTEST) --db-tests-only -o cache_dir=.pytest_cache/postgres

lint: install
	$(BIN)/ruff check backend dashboard schemas tests bench
	$(BIN)/ruff format --check backend dashboard schemas tests bench
	$(BIN)/mypy backend schemas dashboard
	npx --no-install eslint

fmt: install
	$(BIN)/ruff check --fix backend dashboard schemas tests bench
	$(BIN)/ruff format backend dashboard schemas tests bench

bench: install ## full benchmarks -> bench/results.md
	$(PY) -m bench.run

screenshots: install ## docs/wall.png and docs/commander.png from a simulated election morning
	$(PY) -m tests.dashboard.make_screenshots

soak: install ## a whole election day in 30 minutes, watched for leaks
	$(PY) -m pytest -q -s --timeout 2700 tests/faults/test_soak.py --soak-minutes 30

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules
