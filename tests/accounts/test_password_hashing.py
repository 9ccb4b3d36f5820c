"""Password hashes: Argon2id at OWASP's parameters as shipped.

The test preset (tests/settings.py) makes hashing cheap for every other test; these tests put
the shipped parameters back (``shipped_argon2``) and check that they are what the project's
settings default to.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import User
from tests.conftest import PASSWORD, SHIPPED_ARGON2

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import authserver.settings as s; "
    "print(s.ARGON2_MEMORY_KIB, s.ARGON2_TIME_COST, s.ARGON2_PARALLELISM, s.PASSWORD_HASHERS[0])"
)


def test_the_shipped_settings_default_to_owasp_argon2id_parameters():
    unset = {*SHIPPED_ARGON2, "DJANGO_SETTINGS_MODULE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    out = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["19456", "2", "1", "accounts.hashers.Argon2idHasher"]


def test_passwords_are_argon2id(shipped_argon2, make_user):
    user = make_user("alice")
    assert User.objects.get(pk=user.pk).password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_hash_with_other_parameters_is_upgraded_at_sign_in(shipped_argon2, client, make_user):
    from django.contrib.auth.hashers import Argon2PasswordHasher, make_password

    user = make_user("alice")
    user.password = make_password(PASSWORD, hasher=Argon2PasswordHasher())  # Django's 100 MiB
    user.save(update_fields=["password"])
    assert "m=102400" in user.password
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert "m=19456,t=2,p=1" in User.objects.get(pk=user.pk).password
