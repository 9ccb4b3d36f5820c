"""The second factor's configuration (``manage.py check``, registered in ``MfaConfig.ready``):
mfa.W001 the passkey relying party is an IP address, which browsers refuse."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.core.checks import Warning

from mfa import passkeys


def passkey_host(**kwargs: Any) -> Iterable[Warning]:
    host = passkeys.rp_id().strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return []
    return [
        Warning(
            f"The passkey relying party is the IP address {host}: browsers refuse to add a "
            "passkey for it.",
            hint="Serve under a host name (ISSUER_URL=http://localhost:8000 on this machine) or "
            "set WEBAUTHN_RP_ID to one.",
            id="mfa.W001",
        )
    ]
