# The two promises: `make run` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-long test-fast lint typecheck bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "datacommune needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/datacommune up

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy shared/src services/*/src cli/src
	# Four workers on two cores: much of the e2e suite waits on the services it started, or for a
	# moment to come. worksteal: an idle worker takes tests queued on a busy one, so one long test
	# does not hold the end of the run. (Not --dist loadgroup: with it, pytest-xdist reported 749
	# results for 863 tests collected.)
	$(BIN)/pytest -n 4 --dist worksteal -m "not long"

# The endurance runs (soak with restarts, production topology under faults, 500 uploads over two
# nodes): minutes each, a dozen processes each, so one after the other. CI runs them after
# `make test` (.ci/run).
test-long: $(STAMP)
	$(BIN)/pytest -m long

# The inner loop: every test but those that start services as processes (marker e2e), on three
# workers: the tests wait on their databases often enough that two cores serve three.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not e2e" -q -n 3 --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy shared/src services/*/src cli/src

bench: $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python bench/e2e_latency.py
	$(BIN)/python bench/release_precision.py
	$(BIN)/python bench/catalog_search.py
	$(BIN)/python bench/catalog_rows.py
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) var
