# Every command in one place. `make run` and `make test` create or reuse .venv themselves.
# Python 3.11+; pick one with `make run PYTHON=python3.12` (a .venv made by another is rebuilt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One .venv, installed in three levels, each a stamp file: `make run` installs the service
# alone (pyproject's dependencies), `make lab` adds the notebooks' extra (JupyterLab, pandas,
# matplotlib…), `make test` the dev extra (pytest, ruff, selenium, psycopg…, and the notebooks'
# extra). A level's stamp marks the levels below it done too; each is redone when pyproject.toml
# changes. A command depends on its level's phony `venv-LEVEL` step: check the interpreters
# first, then install through a sub-make, because make would not notice a .venv removed by the
# check once it has looked at the files.
STAMP_RUN := $(VENV)/.installed-run
STAMP_LAB := $(VENV)/.installed-lab
STAMP_DEV := $(VENV)/.installed-dev
LAB_PORT ?= 8888
LAB_ARGS ?=
BEFORE ?=  # an older checkout: `make bench BEFORE=../old` adds its pipeline to the comparison
comma := ,
USER_ID ?= $(shell id -u)

.PHONY: run test lint format check lab bench clean reset install notebooks handout exercises grade ts-app ts-app4 \
	ts-realtime venv-run venv-lab venv-dev hub-proxy inngest-py-suite

# The TypeScript-SDK app of the engine tests (inngest 3.x on Node): `npm ci` from its lock file.
TS_APP := tests/engine/ts_app
TS_STAMP := $(TS_APP)/node_modules/.installed

venv-run venv-lab venv-dev:
	@sh tools/check_python.sh "$(PYTHON)" "$(VENV)" "$(origin PYTHON)" "$(firstword $(MAKECMDGOALS) run)"
	@$(MAKE) -s --no-print-directory $(VENV)/.installed-$(@:venv-%=%)

# $(call install,what it is for,pip target,stamps to touch)
define install
	@test -x $(BIN)/python || { \
	  echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"; \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; }
	@echo "installing $(1) into $(VENV) (the first time takes a few minutes)..."
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -e "$(2)"
	@touch $(3)
	@echo "$(VENV) is ready for $(1)"
endef

$(STAMP_RUN): pyproject.toml
	$(call install,the service,.,$(STAMP_RUN))

$(STAMP_LAB): pyproject.toml
	$(call install,the notebooks,.[notebooks],$(STAMP_RUN) $(STAMP_LAB))

$(STAMP_DEV): pyproject.toml
	$(call install,development and tests,.[dev],$(STAMP_RUN) $(STAMP_LAB) $(STAMP_DEV))

# Everything: the service, the notebooks and the test tools.
install: venv-dev

# $(call npm_ci,package folder,what is skipped without npm): `npm ci` from the folder's lock file,
# then a stamp; without npm it only says so and those tests report themselves skipped.
define npm_ci
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(1) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: $(2) will be skipped (CI installs Node.js)"; fi
endef

$(TS_STAMP): $(TS_APP)/package-lock.json
	$(call npm_ci,$(TS_APP),the engine's TypeScript-SDK app tests)

ts-app: $(TS_STAMP)

# The TypeScript-SDK 4.x app (checkpointing, durable endpoints): the same, from its own lock file.
TS4_APP := tests/engine/ts_app4
TS4_STAMP := $(TS4_APP)/node_modules/.installed

$(TS4_STAMP): $(TS4_APP)/package-lock.json
	$(call npm_ci,$(TS4_APP),the engine's TypeScript-SDK 4.x app tests)

ts-app4: $(TS4_STAMP)

# The npm Realtime clients (@inngest/realtime, inngest 4.x) the engine's Realtime tests use.
TS_RT := tests/engine/ts_realtime
TS_RT_STAMP := $(TS_RT)/node_modules/.installed

$(TS_RT_STAMP): $(TS_RT)/package-lock.json
	$(call npm_ci,$(TS_RT),the engine's npm Realtime client tests)

ts-realtime: $(TS_RT_STAMP)

# configurable-http-proxy, the proxy of the real JupyterHub in tests/hosted (npm registry only,
# from its lock file). Without npm the JupyterHub test reports itself skipped and says why.
HUB_PROXY := tests/hosted/hub_proxy
HUB_STAMP := $(HUB_PROXY)/node_modules/.installed

$(HUB_STAMP): $(HUB_PROXY)/package-lock.json
	$(call npm_ci,$(HUB_PROXY),the JupyterHub test (tests/hosted))

hub-proxy: $(HUB_STAMP)

run: venv-run
	$(BIN)/learninngest up

# pytest in 2 worker processes (pytest-xdist; idle ones take tests from busy ones): the tests
# spend most of their time waiting on servers they started, so 2 workers pay even on 2 cores.
# The notebooks run after, one at a time (they share notebooks/.learninngest/).
test: venv-dev $(TS_STAMP) $(TS4_STAMP) $(TS_RT_STAMP) $(HUB_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist worksteal
	KIT_PROXY_URL=off LEARNINNGEST_SMALL=1 $(BIN)/pytest --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider --ignore=notebooks/exercises.ipynb --ignore=notebooks/examples notebooks/

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

# JupyterLab refuses to start as root (containers, Binder) unless told it may.
lab: venv-lab
	$(BIN)/jupyter lab notebooks/ --port $(LAB_PORT)$(if $(filter 0,$(USER_ID)), --allow-root) $(LAB_ARGS)

# Rebuild each notebook from its paired percent script (notebooks/NAME.py, the source to edit)
# and execute it in place: outputs are committed, as nbval compares the checked cells.
# One notebook only: `make notebooks LESSONS=learning`. teacher/exercises is the exercises'
# source, solved, executed like a lesson.
LESSONS := learning inngest_functions flow_control more_inngest connect_workers realtime results teacher/exercises
notebooks: venv-lab
	cd notebooks && for nb in $(LESSONS); do \
		../$(BIN)/jupytext -q --to ipynb --set-kernel python3 $$nb.py && \
		../$(BIN)/jupyter nbconvert --log-level WARN --to notebook --execute --inplace $$nb.ipynb || exit 1; \
	done

# The exercises handed to students, notebooks/exercises.ipynb, and the tests that grade them,
# notebooks/autograder/, built by otter-grader from teacher/exercises.py (docs/grading.md).
# Not executed: they start clean. Apart from `make notebooks`, so that re-running the lessons
# never overwrites a student's work; and a notebooks/exercises.ipynb changed since it was
# handed out is left alone (FORCE=1 replaces it).
handout: venv-lab
	$(BIN)/python -m learninngest.kit.handout$(if $(FORCE), --force)

# A student's exercises: run the notebook, then every task's test (a missing or emptied check
# cell still counts); lists per task passed or what is still wrong; fails while any task is
# unsolved (a class repository's CI runs this).
EXERCISES ?= notebooks/exercises.ipynb
exercises: venv-lab
	$(BIN)/python -m learninngest.kit.grade $(EXERCISES)

# The teacher grades a class: every notebook in SUBMISSIONS, a line per task, and a CSV of
# points per task and student in SUBMISSIONS/grades.csv.
SUBMISSIONS ?= submissions
grade: venv-lab
	@test -n "$(wildcard $(SUBMISSIONS)/*.ipynb)" || { echo "no notebooks in $(SUBMISSIONS)/: put the students' exercises.ipynb files there (one per student, named after them)"; exit 2; }
	$(BIN)/python -m learninngest.kit.grade $(wildcard $(SUBMISSIONS)/*.ipynb) --csv $(SUBMISSIONS)/grades.csv

# inngest-py's own integration suite against the engine (not part of `test`: it needs a checkout
# of github.com/inngest/inngest-py, which CI has not). docs/engine.md, "The Python SDK's own suite".
INNGEST_PY ?=
PYTEST_ARGS ?=
inngest-py-suite: venv-dev
	@test -n "$(INNGEST_PY)" || { echo "usage: make inngest-py-suite INNGEST_PY=/path/to/inngest-py [PYTEST_ARGS=...]"; exit 2; }
	sh tools/inngest_py_suite.sh "$(INNGEST_PY)" $(PYTEST_ARGS)

bench: venv-dev
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/backend_responsiveness.py
	$(BIN)/python bench/long_poll_waiters.py
	$(BIN)/python bench/ttft.py
	$(BIN)/python bench/expressions_eval.py
	$(BIN)/python bench/sqlite_store.py
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python bench/pipeline.py --systems inline,background,celery,arq,learninngest$(if $(BEFORE),$(comma)learninngest-before --before $(BEFORE))

# Between two classes: remove every stack's state (the `.learninngest/` folders of `make run`
# and of the notebooks' kernels, notebooks/output/), never a notebook; refuses while a stack
# still runs. Plain python3, no .venv needed. Other folders: `make reset STATE_ROOTS="DIR ..."`.
STATE_ROOTS ?=
reset:
	@$(PYTHON) tools/reset.py $(STATE_ROOTS)

clean:
	rm -rf $(VENV) .learninngest .pytest_cache .ruff_cache notebooks/output $(TS_APP)/node_modules $(HUB_PROXY)/node_modules
