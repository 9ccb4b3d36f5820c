"""The test preset: the project's settings, plus what makes a test cheap without changing what
it checks.

- Argon2id at a tiny cost: a production-cost hash takes 0.05-0.4 s on the test machine and a
  fixture user costs one; the hash format, the upgrade at sign-in and the dummy hash for unknown
  users are unchanged. ``tests/accounts/test_password_hashing.py`` proves that production
  parameters are what the project's own settings default to, and checks hashes made with them.
- Parallel workers (pytest-xdist) each get a database of their own (pytest-django suffixes
  the test database's name; for SQLite an in-memory database per worker) and, with
  ``REDIS_URL``, a Redis database of their own (``cache.clear()`` is a FLUSHDB).

Live servers started by the tests (tests/ops/servers.py) drop ``DJANGO_SETTINGS_MODULE``, so
they run the project's settings as shipped.
"""

from __future__ import annotations

import os
import re

from authserver.settings import *  # noqa: F403
from authserver.settings import CACHES, DATABASES, REDIS_URL

ARGON2_MEMORY_KIB = 64
ARGON2_TIME_COST = 1
ARGON2_PARALLELISM = 1

# pytest-django gives each xdist worker its own test database, but recognises SQLite only by
# Django's engine name; ours (authserver.sqlite) is told its test database is in memory.
if DATABASES["default"]["ENGINE"] == "authserver.sqlite":
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

_worker = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
if REDIS_URL and _worker:
    # worker n uses database <the URL's database> + n of the same server
    _match = re.fullmatch(r"(.*/)(\d+)", REDIS_URL)
    _base, _db = (_match.group(1), int(_match.group(2))) if _match else (REDIS_URL + "/", 0)
    CACHES["default"]["LOCATION"] = f"{_base}{_db + int(_worker.group(1))}"
