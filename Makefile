# authserver: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
export PORT

.PHONY: install migrate run run-prod dev-cert test lint format bench clean

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

# Production: gunicorn + a Celery worker + Celery beat against PostgreSQL and Redis.
run-prod: install
	@test -n "$$SECRET_KEY" || { echo "run-prod needs SECRET_KEY (and DATABASE_URL, REDIS_URL)" >&2; exit 2; }
	@test -n "$$DATABASE_URL" || { echo "run-prod needs DATABASE_URL (PostgreSQL)" >&2; exit 2; }
	@test -n "$$REDIS_URL" || { echo "run-prod needs REDIS_URL (cache and Celery broker)" >&2; exit 2; }
	$(PY) manage.py migrate --noinput
	mkdir -p var
	trap 'kill $$worker $$beat 2>/dev/null; wait' EXIT INT TERM; \
	$(VENV)/bin/celery -A authserver worker --loglevel INFO & worker=$$!; \
	$(VENV)/bin/celery -A authserver beat --loglevel INFO --schedule var/celerybeat-schedule & beat=$$!; \
	GUNICORN_ACCESS_LOG=$${GUNICORN_ACCESS_LOG:--} $(VENV)/bin/gunicorn -c authserver/gunicorn.conf.py authserver.wsgi:application

# A local CA + localhost certificate in var/tls/ (TLS_CERTFILE/TLS_KEYFILE for gunicorn).
dev-cert:
	sh scripts/dev-cert.sh var/tls

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var/*.sqlite3*
