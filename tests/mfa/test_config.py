"""``manage.py apply``: ``mfa: totp`` on users returns the secret, URI and codes once."""

from __future__ import annotations

import json

import pytest

from mfa import recovery_codes, services, totp
from mfa.models import Authenticator
from tests.configfiles import apply as apply_config

pytestmark = pytest.mark.django_db


def apply(tmp_path, text: str) -> dict:
    return json.loads(apply_config(tmp_path, text, "--json")[0])


CONFIG = """
users:
  - username: carol
    password: "correct horse battery staple"
    mfa: totp
    mfa_required: true
"""


def test_mfa_totp_enrols_once_and_returns_the_secret_once(tmp_path, clock):
    first = apply(tmp_path, CONFIG)["users"]["carol"]
    secret = first["totp_secret"]
    assert first["otpauth_uri"].startswith("otpauth://totp/") and secret in first["otpauth_uri"]
    assert len(first["recovery_codes"]) == 10
    assert all(recovery_codes.looks_like_recovery_code(c) for c in first["recovery_codes"])

    stored = Authenticator.objects.get(user__username="carol", type="totp")
    assert secret not in json.dumps(stored.data)
    assert stored.user.mfa_required is True
    code = totp.code_at(secret, clock.now)
    assert services.totp_consume(stored, code) is services.CodeUse.ACCEPTED

    second = apply(tmp_path, CONFIG)
    assert "totp_secret" not in json.dumps(second)


def test_unknown_mfa_value_is_rejected(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="mfa: must be one of: totp"):
        apply(tmp_path, "users:\n  - username: dave\n    mfa: sms\n")
