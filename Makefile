# authserver: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
export PORT
# The server `make run` and `make run-prod` start, and `make bench` measures (bench/load.py's
# SERVE is the same command): worker class, count and threads come from the config file.
SERVE = $(VENV)/bin/gunicorn -c authserver/gunicorn.conf.py authserver.wsgi:application

.PHONY: install migrate run run-prod dev-cert test test-fast lint format audit sbom lock messages bench bench-all bench-servers bench-micro bench-profile bench-instructions soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

# ANNOUNCE=1: once listening, print the console, discovery and API-docs URLs and, while no
# administrator exists, a one-time setup link last (README "First sign-in").
run: migrate
	ANNOUNCE=1 $(SERVE)

# Production: gunicorn + a Celery worker + Celery beat against PostgreSQL and Redis; the worker
# and beat are started again whenever they exit (scripts/supervise.sh, bounded backoff).
run-prod: install
	@test -n "$$SECRET_KEY" || { echo "run-prod needs SECRET_KEY (and DATABASE_URL, REDIS_URL)" >&2; exit 2; }
	@test -n "$$DATABASE_URL" || { echo "run-prod needs DATABASE_URL (PostgreSQL)" >&2; exit 2; }
	@test -n "$$REDIS_URL" || { echo "run-prod needs REDIS_URL (cache and Celery broker)" >&2; exit 2; }
	mkdir -p var
	export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$(CURDIR)/var/prometheus}; \
	mkdir -p "$$PROMETHEUS_MULTIPROC_DIR" && rm -f "$$PROMETHEUS_MULTIPROC_DIR"/*.db; \
	$(PY) manage.py migrate --noinput || exit 1; \
	trap 'kill $$worker $$beat 2>/dev/null; wait' EXIT INT TERM; \
	sh scripts/supervise.sh $(VENV)/bin/celery -A authserver worker --loglevel INFO & worker=$$!; \
	sh scripts/supervise.sh $(VENV)/bin/celery -A authserver beat --loglevel INFO \
		--schedule var/celerybeat-schedule & beat=$$!; \
	ANNOUNCE=1 GUNICORN_ACCESS_LOG=$${GUNICORN_ACCESS_LOG:--} $(SERVE)

# A local CA + localhost certificate in var/tls/ (TLS_CERTFILE/TLS_KEYFILE for gunicorn).
dev-cert:
	sh scripts/dev-cert.sh var/tls

# The whole suite across both cores (pytest-xdist; each worker has its own databases), and the
# fast lane: no live server, no browser. Bytecode is written even where the environment says
# PYTHONDONTWRITEBYTECODE (otherwise every run compiles the project and rewrites every test
# module's asserts again; __pycache__ is ignored by git).
TEST_WORKERS ?= 3
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest
test: install
	$(PYTEST) -n $(TEST_WORKERS) --dist worksteal

test-fast: install
	$(PYTEST) -n $(TEST_WORKERS) --dist worksteal -m "not live and not browser"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Security checks: bandit and ruff's S rules (offline), then pip-audit against the public
# advisory database (needs internet; says so plainly when it cannot run).
APP_PACKAGES := abuse accounts apikeys audit authserver console core directory federation mfa mgmt oauth roles selfservice
audit: install
	$(VENV)/bin/bandit -q -c pyproject.toml -r $(APP_PACKAGES) -x '*/migrations/*'
	$(VENV)/bin/ruff check --select S --ignore S101,S105,S106 .  # exceptions as in pyproject
	VENV=$(VENV) sh scripts/pip-audit.sh requirements.lock

# CycloneDX SBOM of what production installs: the hash-locked runtime requirements.
sbom: install
	mkdir -p var
	$(VENV)/bin/cyclonedx-py requirements --output-reproducible --of JSON -o var/sbom.cdx.json requirements.lock
	@echo "wrote var/sbom.cdx.json"

# Refresh the hash-locked requirements from pyproject.toml (see docs/security-maintenance.md).
lock: install
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links --upgrade -o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links --upgrade --extra dev -o requirements-dev.lock pyproject.toml

# Translations (docs/branding.md): refresh locale/*/django.po from the code and templates, then
# compile the .mo files that are committed beside them (GNU gettext: apt-get install gettext).
MESSAGES_IGNORE = --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*'
messages: install
	$(VENV)/bin/python manage.py makemessages -l de --no-location $(MESSAGES_IGNORE)
	$(VENV)/bin/python manage.py compilemessages --ignore='.venv'

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Load benchmark of the hot paths (not part of `make test`); see docs/benchmarks.md.
# SQLite by default; PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set (a *bench* database).
# It installs the peer (node-oidc-provider, bench/peer/) into var/bench/peer with npm ci and
# rewrites README.md's performance table from each mode's latest results.
define need-wrk
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
	  else \
	    echo "wrk is missing: install it with 'sudo apt-get install wrk' (Debian/Ubuntu)"; exit 1; \
	  fi; }
endef

bench: $(VENV)/.bench-stamp
	$(need-wrk)
	$(PY) bench/run.py
	$(MAKE) bench-micro

# Both modes in one go (SQLite, then PostgreSQL + Redis), each rewriting README's table; the
# bench database and Redis default to the ones docs/benchmarks.md names.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/authserver_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/11
bench-all: $(VENV)/.bench-stamp
	$(need-wrk)
	env -u DATABASE_URL -u REDIS_URL $(PY) bench/run.py
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/run.py

# The server lever: the same paths under gunicorn sync / gthread / the buffered gthread worker
# and granian, 2 and 2 x CPUs + 1 workers, keep-alive and Connection: close (docs/benchmarks.md).
bench-servers: $(VENV)/.bench-stamp
	$(need-wrk)
	$(PY) bench/servers.py

# Soak: 60 s (SOAK_DURATION) of mixed token/introspection/evaluation/sign-in traffic; fails on
# any 5xx, socket error or idle-RSS growth over the bound (docs/benchmarks.md). Same databases.
soak: $(VENV)/.bench-stamp
	$(need-wrk)
	$(PY) bench/soak.py

# In-process micro-benchmarks (pytest-benchmark), outside the test suite; they measure code,
# not a database, so they run in the embedded mode whatever DATABASE_URL says.
bench-micro: $(VENV)/.bench-stamp
	env -u DATABASE_URL -u REDIS_URL $(VENV)/bin/pytest bench/micro -rs --benchmark-only --benchmark-columns=min,mean,median,ops,rounds

# Process CPU per request of each hot path, in-process (steady on a busy machine);
# PROFILE=<target> adds a cProfile of that target.
bench-profile: install
	$(PY) -m bench.profile $(if $(PROFILE),--profile $(PROFILE))

# The same, counted in instructions under valgrind (repeatable on a busy or shared machine;
# several minutes). BENCH_REQUESTS sets the requests per target.
bench-instructions: install
	@command -v valgrind >/dev/null || { echo "valgrind is missing: sudo apt-get install valgrind"; exit 1; }
	$(PY) -m bench.profile --instructions --requests $(or $(BENCH_REQUESTS),200)

$(VENV)/.bench-stamp: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) var/*.sqlite3*
