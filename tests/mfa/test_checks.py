"""mfa.W001: ``manage.py check`` warns when the passkey relying party is an IP address."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from mfa.conf import settings as mfa_settings


def w001() -> list[str]:
    return [m.msg for m in run_checks() if m.id == "mfa.W001"]


@pytest.mark.parametrize(
    ("issuer", "rp_id", "warned"),
    [
        ("http://localhost:8000", "", False),
        ("http://127.0.0.1:8000", "", True),
        ("http://[::1]:8000", "", True),
        ("http://127.0.0.1:8000", "auth.example.com", False),
        ("https://auth.example.com", "10.0.0.5", True),
    ],
)
def test_an_ip_address_as_relying_party_is_warned_about(settings, issuer, rp_id, warned):
    settings.ISSUER_URL = issuer
    settings.WEBAUTHN_RP_ID = rp_id
    assert mfa_settings.WEBAUTHN_RP_ID == rp_id
    found = w001()
    assert bool(found) is warned, found
    if warned:
        assert "IP address" in found[0]
