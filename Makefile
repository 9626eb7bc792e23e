# Clientele: the commands a developer needs. `make help` lists them.
#
#   make demo   a demo on SQLite at http://127.0.0.1:8000 (creates the venv on first use)
#   make test   the whole test suite: PostgreSQL when DATABASE_URL is set, SQLite otherwise
#
# The venv is built with a Python >= 3.12 found by .ci/find-python (Django 6.1 needs it; the
# machine's python3 may be older). requirements.txt is reinstalled only when it is newer than
# the stamp file, so a second `make demo` starts in seconds.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
DEMO_ADDR ?= 127.0.0.1:8000
PYTEST_ARGS ?=
# Set to 1 to treat pytest's exit code 5 (no tests collected) as success; .ci/run does.
MANAGE := $(PY) manage.py
MAKEMESSAGES_IGNORE := --ignore=.venv --ignore=staticfiles --ignore=node_modules --ignore=bench

.PHONY: help venv demo test lint format messages migrate seed services db ci clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv (Python >= 3.12) and install requirements.txt when it changed

# The interpreter: (re)create the venv when it is missing or broken.
$(PY):
	@set -e; python="$$(bash .ci/find-python)"; \
	rm -rf "$(VENV)"; \
	echo "==> creating $(VENV) with $$python ($$("$$python" -V 2>&1))"; \
	"$$python" -m venv "$(VENV)"

$(STAMP): requirements.txt | $(PY)
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "==> $(VENV) has no working Python >= 3.12: rebuilding it"; \
		rm -rf "$(VENV)"; $(MAKE) --no-print-directory $(PY); \
	fi
	@echo "==> installing requirements.txt into $(VENV)"
	@# pip warns about every unreadable find-links location on some machines: keep the log short.
	@$(PY) -m pip install --disable-pip-version-check --progress-bar off -q -r requirements.txt \
		2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
	@touch "$@"

demo: export DEBUG := 1
demo: venv ## migrate, seed the demo data (once), serve it at 127.0.0.1:8000 (DEMO_ADDR=...)
	@$(MANAGE) migrate --noinput
	@$(MANAGE) seed_demo
	@$(MANAGE) run_analytics --if-missing
	@echo
	@echo "==> Clientele demo at http://$(DEMO_ADDR)/  (Ctrl-C stops it)"
	@exec $(MANAGE) runserver $(DEMO_ADDR)

test: venv ## run the test suite (extra pytest arguments: PYTEST_ARGS="-k name -x")
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff check and ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages migrate seed: export DEBUG ?= 1
messages: venv ## update locale/zh_Hans .po files from the code, then compile the .mo files
	@mkdir -p locale
	$(MANAGE) makemessages -l zh_Hans $(MAKEMESSAGES_IGNORE)
	$(MANAGE) compilemessages -l zh_Hans $(MAKEMESSAGES_IGNORE)

migrate: venv ## apply migrations to the configured database
	$(MANAGE) migrate --noinput

seed: venv ## create the demo organizations and users (does nothing when they exist)
	$(MANAGE) seed_demo

services: ## start the local PostgreSQL and Redis when they are down
	@bash .ci/services

db: services ## create the clientele_owner/clientele_app roles and the clientele database
	@bash .ci/db-setup

ci: ## run the CI pipeline (.ci/run) locally
	bash .ci/run

clean: ## remove caches and collected static files (keeps .venv and db.sqlite3)
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache staticfiles

distclean: clean ## also remove .venv and the demo database db.sqlite3
	rm -rf "$(VENV)" db.sqlite3 db.sqlite3-journal
