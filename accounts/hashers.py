"""People's passwords: Argon2id (argon2-cffi) with the parameters from settings.

Django's defaults (100 MiB, t=2, p=8) cost ~160 ms of CPU per sign-in on a 2-core machine,
about 6 sign-ins a second. The defaults here are OWASP's Password Storage Cheat Sheet
configuration, m=19 MiB, t=2, p=1 (~15 ms): the floor our security checklist asks for and about
ten times the sign-in throughput. Stronger settings are one environment variable away
(``ARGON2_MEMORY_KIB``, ``ARGON2_TIME_COST``, ``ARGON2_PARALLELISM``), and a hash made with
other parameters is upgraded at the user's next sign-in (Django's ``must_update``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Same algorithm and encoding as Django's (``argon2$argon2id$...``), so existing hashes
    verify; only the parameters of new hashes come from settings."""

    @property
    def time_cost(self) -> int:  # type: ignore[override]
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:  # type: ignore[override]
        return settings.ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:  # type: ignore[override]
        return settings.ARGON2_PARALLELISM
