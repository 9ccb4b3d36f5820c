# authserver: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
export PORT

.PHONY: install migrate run test lint format bench bench-micro clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(VENV)/bin/gunicorn -c authserver/gunicorn.conf.py authserver.wsgi:application

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Load benchmark of the hot paths (not part of `make test`); see docs/benchmarks.md.
# SQLite by default; PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set (a *bench* database).
bench: $(VENV)/.bench-stamp
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
	  else \
	    echo "wrk is missing: install it with 'sudo apt-get install wrk' (Debian/Ubuntu)"; exit 1; \
	  fi; }
	$(PY) bench/run.py
	$(MAKE) bench-micro

# In-process micro-benchmarks (pytest-benchmark), outside the test suite.
bench-micro: $(VENV)/.bench-stamp
	$(VENV)/bin/pytest bench/micro -rs --benchmark-only --benchmark-columns=min,mean,median,ops,rounds

$(VENV)/.bench-stamp: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) var/*.sqlite3*
