"""Writes: activating and removing factors, consuming codes, counting wrong codes.

Every consumption is a conditional write, so two parallel submissions of one code give
exactly one success, and the state lives in the database (it survives a cache flush).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from accounts.limits import LOGIN_PER_ACCOUNT
from audit.services import record
from core import clock, limits, metrics
from core.actors import Actor
from core.crypto import decrypt, encrypt
from core.limits import Limit
from core.request_meta import RequestMeta, request_meta
from mail import notices
from mfa import recovery_codes, totp
from mfa.models import Authenticator, Lockout


class CodeUse(StrEnum):
    """What submitting a code did: used it up, found it used up already, or matched nothing.
    Only ``WRONG`` counts towards the lockout: a code that was right once is not a guess."""

    ACCEPTED = "accepted"
    USED = "used"
    WRONG = "wrong"


# --- TOTP ----------------------------------------------------------------------------------


def totp_secret(authenticator: Authenticator) -> str:
    return decrypt(authenticator.data["secret"]).decode()


@transaction.atomic
def authenticator_totp_activate(
    *, user: Any, secret: str, code: str, meta: RequestMeta | None = None
) -> Authenticator | None:
    """Activate ``secret`` for ``user`` if ``code`` proves the app has it; None otherwise.

    The confirming code is used up (its step is the first ``last_used_step``). An existing TOTP
    is replaced.
    """
    step = totp.matching_step(secret, code, now=clock.now())
    if step is None:
        return None
    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    authenticator = Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.TOTP,
        name="Authenticator app",
        data={"secret": encrypt(secret.encode()), "last_used_step": step},
        last_used_at=clock.utcnow(),
    )
    record("mfa.enrol", actor=user.username, target=user.username, meta=meta, factor="totp")
    notices.factor_added(user, "totp", meta=meta)
    return authenticator


@transaction.atomic
def authenticator_totp_provision(*, user: Any) -> str | None:
    """Enrol TOTP for ``user`` without a confirming code (``manage.py apply``); returns the new
    seed, or None when the user already has one (the seed is never shown twice)."""
    if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        return None
    secret = totp.generate_secret()
    Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.TOTP,
        name="Authenticator app",
        data={"secret": encrypt(secret.encode()), "last_used_step": -1},
    )
    record("mfa.enrol", actor="apply", target=user.username, factor="totp")
    return secret


def totp_consume(authenticator: Authenticator, code: str) -> CodeUse:
    """Accept ``code`` once: the step must be later than the last one used, checked by the
    UPDATE itself so a concurrent request with the same code finds nothing to update. A code of
    the window whose step is used up already is ``USED``, not ``WRONG``."""
    secret = totp_secret(authenticator)
    last = authenticator.data.get("last_used_step")
    step = totp.matching_step(secret, code, now=clock.now(), last_used_step=last)
    if step is None:
        used = totp.matching_step(secret, code, now=clock.now()) is not None
        return CodeUse.USED if used else CodeUse.WRONG
    data = {**authenticator.data, "last_used_step": step}
    updated = Authenticator.objects.filter(
        pk=authenticator.pk, data__last_used_step__lt=step
    ).update(data=data, last_used_at=clock.utcnow())
    if not updated:
        return CodeUse.USED
    authenticator.data = data
    return CodeUse.ACCEPTED


# --- recovery codes ------------------------------------------------------------------------


@transaction.atomic
def recovery_codes_generate(*, user: Any) -> list[str]:
    """A fresh set of codes (plaintext returned once); the old set stops working."""
    codes = recovery_codes.generate()
    Authenticator.objects.update_or_create(
        user=user,
        type=Authenticator.Type.RECOVERY_CODES,
        defaults={
            "name": "Recovery codes",
            "data": {"hashes": [recovery_codes.hash_code(c) for c in codes]},
        },
    )
    record("mfa.recovery_codes.generate", actor=user.username, target=user.username)
    return codes


@transaction.atomic
def recovery_code_consume(*, user: Any, code: str) -> CodeUse:
    """Use up one recovery code; its hash moves to ``used`` so a second submission is told
    the code was used, not counted as a guess."""
    row = (
        Authenticator.objects.select_for_update()
        .filter(user=user, type=Authenticator.Type.RECOVERY_CODES)
        .first()
    )
    if row is None:
        return CodeUse.WRONG
    hashes = list(row.data.get("hashes", []))
    index = recovery_codes.find(code, hashes)
    if index is None:
        used = recovery_codes.find(code, row.data.get("used", [])) is not None
        return CodeUse.USED if used else CodeUse.WRONG
    used = [*row.data.get("used", []), hashes.pop(index)]
    row.data = {**row.data, "hashes": hashes, "used": used}
    row.last_used_at = clock.utcnow()
    row.save(update_fields=["data", "last_used_at"])
    return CodeUse.ACCEPTED


# --- passkeys -----------------------------------------------------------------------------


@transaction.atomic
def authenticator_passkey_add(
    *, user: Any, name: str, data: dict[str, Any], meta: RequestMeta | None = None
) -> Authenticator:
    authenticator = Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.WEBAUTHN,
        name=name,
        data=data,
        last_used_at=clock.utcnow(),
    )
    record(
        "mfa.enrol",
        actor=user.username,
        target=user.username,
        meta=meta,
        factor="webauthn",
        name=name,
    )
    notices.factor_added(user, "webauthn", meta=meta)
    return authenticator


def passkey_record_use(authenticator: Authenticator, new_sign_count: int) -> bool:
    """Store the new signature counter, only if nobody moved it meanwhile (a parallel or
    replayed assertion with the same counter loses)."""
    old = authenticator.data.get("sign_count", 0)
    data = {**authenticator.data, "sign_count": new_sign_count}
    updated = Authenticator.objects.filter(pk=authenticator.pk, data__sign_count=old).update(
        data=data, last_used_at=clock.utcnow()
    )
    return bool(updated)


# --- removal -------------------------------------------------------------------------------


@transaction.atomic
def authenticator_delete(*, authenticator: Authenticator, request: Any = None) -> None:
    user = authenticator.user
    kind = authenticator.type
    authenticator.delete()
    remaining = Authenticator.objects.filter(user=user).exclude(
        type=Authenticator.Type.RECOVERY_CODES
    )
    if not remaining.exists():  # recovery codes only make sense beside a factor
        Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).delete()
    record("mfa.remove", actor=user.username, target=user.username, request=request, factor=kind)
    notices.factor_removed(user, kind, meta=request_meta(request) if request else None)


@transaction.atomic
def authenticators_reset(*, actor: Actor, meta: RequestMeta | None = None, user: Any) -> list[str]:
    """Remove every factor of ``user`` (app, passkeys, recovery codes), as an administrator
    does for someone who lost them (needs the actor's fresh second factor); their next sign-in
    enrols a new one if MFA is required of them. Returns the types removed (``mfa.reset``)."""
    actor.require_fresh_factor()
    rows = Authenticator.objects.select_for_update().filter(user=user)
    removed = sorted({row.type for row in rows})
    rows.delete()
    if removed:
        name = actor.audit_name
        record("mfa.reset", actor=name, meta=meta, target=user.username, factors=removed)
        notices.factor_removed(user, "all", meta=meta)
    return removed


# --- lockout (NIST SP 800-63B-4 §3.2.2) ----------------------------------------------------

# ``MFA_MAX_ATTEMPTS`` wrong codes in a row lock the second factor for ``MFA_LOCKOUT_SECONDS``,
# doubled per lock up to ``MFA_LOCKOUT_MAX_SECONDS``; a right code resets both. The failures
# and locks are the user's ``Lockout`` row, not the cache: attempts of one user are decided
# under that user's row lock (``lockout_remaining(hold=True)``), and they survive a cache flush.
MFA_LOCKOUT = Limit(
    "mfa",
    failures="MFA_MAX_ATTEMPTS",
    window=None,
    backoff="MFA_LOCKOUT_SECONDS",
    cap="MFA_LOCKOUT_MAX_SECONDS",
)


@dataclass(frozen=True)
class Failure:
    locked_seconds: int  # > 0 when this failure locked the factor


def lockout_remaining(*, user: Any, hold: bool = False) -> int:
    """Seconds the user's second factor stays locked (0: not locked).

    ``hold`` (inside the transaction that then checks the code and counts a failure): lock the
    user's row first, so attempts of one user that run at once in several workers are decided
    one after the other, each seeing the failures counted before it (SQLite's write
    transactions are serial already: ``BEGIN IMMEDIATE``)."""
    if hold:
        get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    row = Lockout.objects.filter(user=user).first()
    if row is None or row.locked_until is None:
        return 0
    return max(0, int((row.locked_until - clock.utcnow()).total_seconds() + 0.999))


@transaction.atomic
def lockout_record_failure(*, user: Any) -> Failure:
    Lockout.objects.get_or_create(user=user)
    Lockout.objects.filter(user=user).update(failures=F("failures") + 1)
    row = Lockout.objects.select_for_update().get(user=user)
    metrics.MFA_FAILURES.inc()
    if not MFA_LOCKOUT.reached(row.failures):
        return Failure(locked_seconds=0)
    metrics.LOCKOUTS.labels(kind="mfa").inc()
    row.locks += 1
    row.failures = 0
    seconds = MFA_LOCKOUT.lock_seconds(row.locks)
    row.locked_until = clock.utcnow() + timedelta(seconds=seconds)
    row.save(update_fields=["locks", "failures", "locked_until"])
    notices.account_locked(user, seconds=seconds)
    return Failure(locked_seconds=seconds)


def lockout_reset(*, user: Any) -> None:
    """A correct code resets the count and the backoff (NIST: SHOULD reset on success)."""
    Lockout.objects.filter(user=user).delete()


@transaction.atomic
def user_unlock(*, actor: Actor, meta: RequestMeta | None = None, user: Any) -> list[str]:
    """Lift the second-factor lockout and the password sign-in block of ``user``; returns
    which locks were lifted (``mfa``, ``login``), an event (``user.unlocked``) only if one was.
    Unlocking lets guessing start again, so it needs a fresh second factor like a reset."""
    actor.require_fresh_factor()
    lifted = []
    if lockout_remaining(user=user):
        lifted.append("mfa")
    lockout_reset(user=user)
    if limits.retry_after((LOGIN_PER_ACCOUNT, user.username)):
        lifted.append("login")
    limits.reset(LOGIN_PER_ACCOUNT, user.username)
    if lifted:
        name = actor.audit_name
        record("user.unlocked", actor=name, meta=meta, target=user.username, locks=lifted)
    return lifted
