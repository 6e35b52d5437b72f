# Every command in one place. `make run` and `make test` create or reuse .venv themselves.
# Python 3.11+; pick one with `make run PYTHON=python3.12` (a .venv made by another is rebuilt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Every command needing .venv depends on $(STAMP): check the interpreters first, then install
# if pyproject.toml changed. A phony step plus a sub-make, because make would not notice a
# .venv removed by the check once it has looked at the files.
STAMP := venv
LAB_PORT ?= 8888
LAB_ARGS ?=
BEFORE ?=  # an older checkout: `make bench BEFORE=../old` adds its pipeline to the comparison
comma := ,
USER_ID ?= $(shell id -u)

.PHONY: run test lint format check lab bench clean install notebooks handout exercises venv ts-app

# The TypeScript-SDK app of the engine tests (inngest 3.x on Node): `npm ci` from its lock file.
TS_APP := tests/engine/ts_app
TS_STAMP := $(TS_APP)/node_modules/.installed

$(STAMP):
	@sh tools/check_python.sh "$(PYTHON)" "$(VENV)" "$(origin PYTHON)" "$(firstword $(MAKECMDGOALS) run)"
	@$(MAKE) -s --no-print-directory $(INSTALLED)

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || { \
	  echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"; \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; }
	@echo "installing dependencies into $(VENV) (the first time takes a few minutes)..."
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	@touch $(INSTALLED)
	@echo "$(VENV) is ready"

install: $(STAMP)

# Without npm this only says so: the TypeScript-SDK app tests then report themselves skipped.
$(TS_STAMP): $(TS_APP)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(TS_APP) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the engine's TypeScript-SDK app tests will be skipped (CI installs Node.js)"; fi

ts-app: $(TS_STAMP)

run: $(STAMP)
	$(BIN)/learninngest up

# pytest in 2 worker processes (pytest-xdist; idle ones take tests from busy ones): the tests
# spend most of their time waiting on servers they started, so 2 workers pay even on 2 cores.
# The notebooks run after, one at a time (they share notebooks/.learninngest/).
test: $(STAMP) $(TS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist worksteal
	LEARNINNGEST_SMALL=1 $(BIN)/pytest --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider --ignore=notebooks/exercises.ipynb notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

# JupyterLab refuses to start as root (containers, Binder) unless told it may.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ --port $(LAB_PORT)$(if $(filter 0,$(USER_ID)), --allow-root) $(LAB_ARGS)

# Rebuild each notebook from its paired percent script (notebooks/NAME.py, the source to edit)
# and execute it in place: outputs are committed, as nbval compares the checked cells.
# One notebook only: `make notebooks LESSONS=learning`. teacher/solutions is the exercises'
# solved copy, executed like a lesson.
LESSONS := learning inngest_functions results teacher/solutions
notebooks: $(STAMP)
	cd notebooks && for nb in $(LESSONS); do \
		../$(BIN)/jupytext -q --to ipynb --set-kernel python3 $$nb.py && \
		../$(BIN)/jupyter nbconvert --log-level WARN --to notebook --execute --inplace $$nb.ipynb || exit 1; \
	done

# The exercises handed to students, notebooks/exercises.ipynb, built from teacher/exercises.py
# (which students do not edit, so tests rely on it) and not executed: they start clean.
# Apart from `make notebooks`, so that re-running the lessons never overwrites a student's work.
handout: $(STAMP)
	cd notebooks && ../$(BIN)/jupytext -q --to ipynb --set-kernel python3 --output exercises.ipynb teacher/exercises.py

# A student's exercises: run the notebook, list per task passed or what is still wrong;
# fails while any task is unsolved (a class repository's CI runs this).
EXERCISES ?= notebooks/exercises.ipynb
exercises: $(STAMP)
	$(BIN)/python -m learninngest.kit.grade $(EXERCISES)

bench: $(STAMP)
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/backend_responsiveness.py
	$(BIN)/python bench/long_poll_waiters.py
	$(BIN)/python bench/ttft.py
	$(BIN)/python bench/expressions_eval.py
	$(BIN)/python bench/sqlite_store.py
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/pipeline.py --systems inline,background,celery,arq,learninngest$(if $(BEFORE),$(comma)learninngest-before --before $(BEFORE))

clean:
	rm -rf $(VENV) .learninngest .pytest_cache .ruff_cache notebooks/output $(TS_APP)/node_modules
