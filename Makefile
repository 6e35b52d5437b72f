# Every command in one place. `make run` and `make test` create or reuse .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format check lab bench clean install notebooks

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/learninngest up

test: $(STAMP)
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

# Rebuild each notebook from its paired percent script (notebooks/NAME.py, the source to edit)
# and execute it in place: outputs are committed, as nbval compares the checked cells.
# One notebook only: `make notebooks LESSONS=learning`.
LESSONS := learning inngest_functions results
notebooks: $(STAMP)
	cd notebooks && for nb in $(LESSONS); do \
		../$(BIN)/jupytext -q --to ipynb --set-kernel python3 $$nb.py && \
		../$(BIN)/jupyter nbconvert --log-level WARN --to notebook --execute --inplace $$nb.ipynb || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/backend_responsiveness.py

clean:
	rm -rf $(VENV) .learninngest .pytest_cache .ruff_cache notebooks/output
