# demoseed: `make demo` and `make test` are all a fresh machine needs (plus Python 3.11).
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) backend/manage.py
STAMP := $(VENV)/.installed
# The Procfile's lines, run by honcho with the venv first on PATH (its `python` and `streamlit` are the venv's).
# `--env /dev/null`: honcho would let .env override this shell's variables; the settings read .env themselves,
# under the shell's (REDIS_URL=... make worker means that Redis, whatever .env says).
HONCHO := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start --env /dev/null

.PHONY: help
help:  ## list the targets
	@# Two passes: the widest target name sets the column every description starts at.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' \
	  '{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1) } \
	   END { for (i = 1; i <= NR; i++) printf "  make %-" width "s  %s\n", name[i], text[i] }'

# uv installs the locked requirements in seconds where pip takes a minute. It is bootstrapped once per
# machine from PyPI (with the Python above) into the user's cache, and shared by every clone there.
# Without make: `python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.lock` does the same, slower.
# --compile-bytecode: as pip does; where PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile
# every module it imports from source (manage.py check: 3.2 s instead of 0.9 s; the test suite twice as long).
UV_VERSION := 0.13.8
UV_HOME := $(HOME)/.cache/demoseed/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target $(UV_HOME) uv==$(UV_VERSION)

$(STAMP): requirements-dev.lock | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) requirements-dev.lock
	touch $(STAMP)

.PHONY: install
install: $(STAMP)  ## create .venv and install the locked requirements (uv; exact versions from requirements-dev.lock)

.PHONY: lock
lock: | $(UV)  ## pin every package, dependencies included, from requirements.txt and requirements-dev.txt into the .lock files
	$(UV) pip compile --quiet --python-version 3.11 requirements.txt -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 requirements-dev.txt -o requirements-dev.lock

.PHONY: migrate
migrate: $(STAMP)  ## apply migrations to the configured database (SQLite file by default)
	$(MANAGE) migrate --verbosity 0

.PHONY: demo
demo: migrate  ## install, migrate, and seed the demo dataset (replacing earlier demo data)
	$(MANAGE) seed_demo_data --sync --clear --plan demo
	@echo
	@echo "Look at it: 'make superuser' once, then 'make serve' and open http://127.0.0.1:8000/admin/"

.PHONY: superuser
superuser: migrate  ## create an admin login
	$(MANAGE) createsuperuser

.PHONY: serve
serve: migrate  ## web app on :8000 and the monitor on :8501, + a worker (with REDIS_URL) or the embedded worker
	@if [ -n "$$REDIS_URL" ]; then \
	  echo "Web, monitor and a Dramatiq worker on $$REDIS_URL (Ctrl-C stops them)"; \
	  $(HONCHO) web worker monitor; \
	else \
	  echo "No REDIS_URL: large plans run on the embedded in-process worker (see README)"; \
	  $(HONCHO) web monitor; \
	fi

.PHONY: worker
worker: $(STAMP)  ## a Dramatiq worker for queued runs (needs REDIS_URL; WORKER_PROCESSES, WORKER_THREADS)
	@if [ -z "$$REDIS_URL" ]; then echo "Set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0 make worker" >&2; exit 2; fi
	$(HONCHO) worker

.PHONY: monitor
monitor: migrate  ## the Streamlit monitor on http://127.0.0.1:8501/ (MONITOR_PASSWORD to gate it)
	$(HONCHO) monitor

.PHONY: test
test: $(STAMP)  ## run the suite on SQLite, then on PostgreSQL (required when CI=true)
	$(PY) scripts/run_tests.py

.PHONY: test-hosts
test-hosts: $(STAMP)  ## workers on three hosts of their own, partitions between them and the servers (namespaces: root, iproute2, iptables)
	$(PY) scripts/run_tests.py --hosts

.PHONY: bench
bench: $(STAMP)  ## seed plan L through the service and the raw paths, on SQLite and PostgreSQL
	$(PY) scripts/bench.py

.PHONY: bench-async
bench-async: $(STAMP)  ## POST latency and plan L end to end with 1 and 2 workers (PostgreSQL + Redis)
	$(PY) scripts/bench_async.py

.PHONY: bench-stats
bench-stats: $(STAMP)  ## p95 of GET demo-data-stats with plan 2xL seeded, on SQLite and PostgreSQL
	$(PY) scripts/bench_stats.py

.PHONY: bench-monitor
bench-monitor: $(STAMP)  ## the monitor's first render and refresh times per page, plan 2xL on PostgreSQL
	$(PY) scripts/bench_monitor.py

.PHONY: bench-scale
bench-scale: $(STAMP)  ## plan L with 1, 2 and 4 workers next to raw COPY, and plan 10L with 2 (PostgreSQL + Redis)
	$(PY) scripts/bench_scale.py --tune-postgres

.PHONY: bench-estimates
bench-estimates: $(STAMP)  ## plan L on each path: the dry run's estimate against the real time (PostgreSQL + Redis)
	$(PY) scripts/bench_estimates.py

.PHONY: bench-stack
bench-stack: $(STAMP)  ## 5 deployments stacked onto an estate of plan L's size (SCALE=10: 10L's), SQLite and PostgreSQL
	$(PY) scripts/bench_stack.py --scale $${SCALE:-1}

.PHONY: bench-queued-sqlite
bench-queued-sqlite: $(STAMP)  ## plan L on SQLite: inline, the embedded worker and one Redis worker side by side
	$(PY) scripts/bench_queued_sqlite.py

.PHONY: bench-live
bench-live: $(STAMP)  ## live streams (2,000 and 10 events/s): rate, lag, CPU, and the admin's times meanwhile, both databases
	$(PY) scripts/bench_live.py

.PHONY: bench-admin
bench-admin: $(STAMP)  ## time every admin list page (first/last page, facets, filter, search) on DATABASE_URL's data
	$(PY) scripts/bench_admin.py

.PHONY: compose-smoke
compose-smoke: $(STAMP)  ## run docker-compose.yml's services as compose would, without Docker (PostgreSQL + Redis)
	$(PY) scripts/compose_smoke.py

.PHONY: api-fuzz
api-fuzz: $(STAMP)  ## Schemathesis, every check, against gunicorn (debug off) + a worker, with a token and without (PostgreSQL + Redis)
	$(PY) scripts/api_fuzz.py

.PHONY: screenshots
screenshots: $(STAMP)  ## photograph every admin page at 3 widths, the monitor during and after a run, and live streams of each scenario (var/screenshots/; the README's in docs/screenshots/)
	$(PY) scripts/screenshots.py
	$(PY) scripts/monitor_screenshots.py var/screenshots/monitor
	cp var/screenshots/monitor/readme-overview.png docs/screenshots/monitor-overview.png
	$(PY) scripts/live_screenshots.py var/screenshots/live

.PHONY: lint
lint: $(STAMP)  ## ruff check and format check, and the layers' import contracts (pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd backend && ../$(VENV)/bin/lint-imports --config ../pyproject.toml

.PHONY: format
format: $(STAMP)  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: clean
clean:  ## remove the venv and local data (var/)
	rm -rf $(VENV) var .pytest_cache .ruff_cache
