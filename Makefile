# Every command in one place. `make run` and `make test` create or reuse .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format check lab bench clean install notebooks ts-app

# The TypeScript-SDK app of the engine tests (inngest 3.x on Node): `npm ci` from its lock file.
TS_APP := tests/engine/ts_app
TS_STAMP := $(TS_APP)/node_modules/.installed

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Without npm this only says so: the TypeScript-SDK app tests then report themselves skipped.
$(TS_STAMP): $(TS_APP)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(TS_APP) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the engine's TypeScript-SDK app tests will be skipped (CI installs Node.js)"; fi

ts-app: $(TS_STAMP)

run: $(STAMP)
	$(BIN)/learninngest up

test: $(STAMP) $(TS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest
	LEARNINNGEST_SMALL=1 $(BIN)/pytest --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Rebuild both notebooks from tools/build_notebooks.py and execute them in place (outputs are committed).
notebooks: $(STAMP)
	$(BIN)/python tools/build_notebooks.py
	cd notebooks && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace learning.ipynb results.ipynb

bench: $(STAMP)
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/backend_responsiveness.py

clean:
	rm -rf $(VENV) .learninngest .pytest_cache .ruff_cache notebooks/output $(TS_APP)/node_modules
