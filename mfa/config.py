"""``mfa: totp`` on the users of ``manage.py apply``.

users:
  - username: alice
    mfa: totp      # enrol once; the seed, its otpauth URI and recovery codes are shown once
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from core.declarative import Result, choice, section
from mfa import conf, services, totp


def _enrol_totp(entry: dict[str, Any], result: Result) -> None:
    """Enrol once; the seed, its URI and recovery codes are returned once."""
    if entry.get("mfa") != "totp":
        return
    user = User.objects.get(username=entry["username"])
    secret = services.authenticator_totp_provision(user=user)
    if secret is None:
        return
    codes = services.recovery_codes_generate(user=user)
    uri = totp.provisioning_uri(secret, account=user.username, issuer=conf.settings.MFA_TOTP_ISSUER)
    data = {"totp_secret": secret, "otpauth_uri": uri, "recovery_codes": codes}
    result.sections.setdefault("users", {}).setdefault(user.username, {}).update(data)
    result.changes.append(f"enrolled TOTP for user {user.username}")


def register() -> None:
    """Add ``mfa`` to users, enrolled before the hooks of other apps (a user's roles) run, as
    a field of the user's own entry."""
    users = section("users")
    if "mfa" in users.schema:
        return
    users.schema["mfa"] = choice("totp")
    users.after.insert(0, _enrol_totp)
