"""Use cases of the second factor: the pending sign-in, verification, enrolment, step-up.

Sign-in is two steps. The password step does not log the user in when a second factor is due:
it keeps ``PENDING`` in the (rotated) session, so nothing that needs a signed-in user (authorize,
consent, device approval, factor management) can be reached with the password alone. The
second step verifies a factor and only then calls ``django.contrib.auth.login`` (which rotates
the session key again) and records ``amr``/``acr`` for the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model, login
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from abuse.guard import wait_text
from accounts.session import (
    AMR_PASSWORD,
    FIRST_FACTORS,
    auth_state,
    record_login,
    record_second_factor,
)
from audit.models import AuditEvent
from audit.services import record
from core import clock
from core.crypto import decrypt, encrypt, keyed_hash
from core.request_meta import request_meta
from mfa import conf, passkeys, policy, recovery_codes, selectors, services, totp

PENDING = "mfa.pending"
TOTP_SETUP = "mfa.totp_setup"
NEW_RECOVERY_CODES = "mfa.new_recovery_codes"

AMR_OTP = "otp"

WRONG_CODE = gettext_lazy("That code is not right. Check your app and try again.")
USED_CODE = {
    "totp": gettext_lazy(
        "That code was already used. Wait for the next code in your app and enter that one."
    ),
    "recovery_code": gettext_lazy(
        "That recovery code was already used: each one works once. Enter another."
    ),
}


def safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


# --- the pending sign-in -------------------------------------------------------------------


def after_password(
    request: HttpRequest, user: Any, next_url: str, *, first: tuple[str, ...] = (AMR_PASSWORD,)
) -> str | None:
    """Called once the password is right (or an upstream provider vouched: ``first`` is the
    first step's ``amr``). Returns where to go for the second factor, or None when no second
    factor is due (the caller then logs the user in with ``first``)."""
    enrolled = selectors.has_factor(user)
    if not enrolled and not policy.user_requires_mfa(user):
        return None
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "at": clock.now(),
        "next": next_url,
        "enrol": not enrolled,
        "first": list(first),
    }
    return reverse("mfa:authenticate" if enrolled else "mfa:totp-setup")


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if clock.now() - pending.get("at", 0) > conf.settings.MFA_PENDING_SECONDS:
        del request.session[PENDING]
        return None
    return pending


def pending_next(request: HttpRequest) -> str | None:
    """Where the pending sign-in continues once its second factor is done, if one is pending."""
    pending = request.session.get(PENDING)
    return pending.get("next") if isinstance(pending, dict) else None


def _pending_user(pending: dict[str, Any]) -> Any:
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


@dataclass(frozen=True)
class Subject:
    """Whose second factor a page is about, and whether that completes a sign-in."""

    user: Any
    pending: dict[str, Any] | None

    @property
    def must_enrol(self) -> bool:
        return bool(self.pending and self.pending.get("enrol"))


def challenge_subject(request: HttpRequest) -> Subject | None:
    """The user being asked for a second factor: a pending sign-in, else the signed-in user
    (step-up); None when there is neither."""
    pending = _pending(request)
    if pending is not None:
        user = _pending_user(pending)
        return Subject(user, pending) if user is not None else None
    if request.user.is_authenticated:
        return Subject(request.user, None)
    return None


def next_url(request: HttpRequest, subject: Subject) -> str:
    chosen = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if chosen is None and subject.pending:
        chosen = safe_next(request, subject.pending.get("next"))
    return chosen or reverse("mfa:manage")


def _audit(request: HttpRequest, user: Any, event: str, **fields: Any) -> None:
    """An MFA event whose actor is ``user``, from this request."""
    record(event, actor=user.username, request=request, **fields)


def _first_factors(request: HttpRequest, subject: Subject) -> list[str]:
    """The first step's ``amr`` of the sign-in being completed (the pending one, or the
    session's own at a step-up): ``pwd``, or ``fed`` after an upstream provider."""
    if subject.pending is not None:
        first = subject.pending.get("first")
    else:
        first = [a for a in (auth_state(request) or {}).get("amr", []) if a in FIRST_FACTORS]
    return list(first) if first else [AMR_PASSWORD]


def _complete(request: HttpRequest, subject: Subject, factor_amr: str) -> None:
    """The second factor passed: sign in (or step up), rotating the session key."""
    request.session.pop(PENDING, None)
    backend = (subject.pending or {}).get("backend") or request.session.get(BACKEND_SESSION_KEY)
    first = _first_factors(request, subject)
    login(request, subject.user, backend=backend)
    amr = [*first, factor_amr, "mfa"]
    record_login(request, amr=amr, acr=policy.ACR_MFA)
    record("login", actor=subject.user.username, request=request, amr=amr)


def _first_recovery_codes(user: Any) -> list[str] | None:
    """New recovery codes when the user has none yet (a first factor was just added)."""
    if selectors.recovery_codes_of(user) is not None:
        return None
    return services.recovery_codes_generate(user=user)


def _enrolled(
    request: HttpRequest, subject: Subject, factor_amr: str, codes: list[str] | None
) -> None:
    """A factor was just added: the session is multi-factor, new recovery codes shown once."""
    _complete(request, subject, factor_amr)
    if codes:
        request.session[NEW_RECOVERY_CODES] = codes


# --- verifying a code ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    error: str = ""
    status: int = 200


def verify_code(request: HttpRequest, subject: Subject, code: str) -> Verification:
    """Check a TOTP or recovery code, under the lockout; audit every outcome. On success the
    subject is signed in (or stepped up)."""
    result = check_code(request, subject.user, code)
    if result.ok:
        _complete(request, subject, AMR_OTP)
    return result


def reverify_code(request: HttpRequest, code: str) -> Verification:
    """The signed-in user proves their second factor again before a sensitive action: the same
    check (lockout, single use, audit), then only the proof's time is recorded in the session
    (no new sign-in, the session id and ``sid`` stay)."""
    result = check_code(request, request.user, code)
    if result.ok:
        record_second_factor(request)
    return result


def check_code(request: HttpRequest, user: Any, code: str) -> Verification:
    """Check a TOTP or recovery code of ``user``, under the lockout; audit every outcome. The
    lockout is read in the transaction that counts the failure, under a lock of the user's row:
    read before it, attempts sent at once to several workers were all checked."""
    with transaction.atomic():
        remaining = services.lockout_remaining(user=user, hold=True)
        if remaining:
            _audit(
                request,
                user,
                "mfa.verify",
                outcome=AuditEvent.Outcome.DENIED,
                reason="locked",
            )
            return Verification(False, _locked_message(remaining), status=429)
        use, factor = _consume(user, code)
        if use is services.CodeUse.USED:
            # Right once, so not a guess: a second tab or a double submit is told so, and the
            # lockout is left alone (ten sessions sending one code do not lock the user out).
            _audit(
                request,
                user,
                "mfa.verify",
                outcome=AuditEvent.Outcome.FAILURE,
                reason="used",
                factor=factor,
            )
            return Verification(False, USED_CODE[factor])
        if use is services.CodeUse.WRONG:
            failure = services.lockout_record_failure(user=user)
            _audit(
                request,
                user,
                "mfa.verify",
                outcome=AuditEvent.Outcome.FAILURE,
                reason="wrong",
            )
            if failure.locked_seconds:
                _audit(
                    request,
                    user,
                    "mfa.locked",
                    target=user.username,
                    outcome=AuditEvent.Outcome.DENIED,
                    seconds=failure.locked_seconds,
                )
                return Verification(False, _locked_message(failure.locked_seconds), status=429)
            return Verification(False, WRONG_CODE)
        services.lockout_reset(user=user)
        _audit(request, user, "mfa.verify", factor=factor)
    return Verification(True)


def _consume(user: Any, code: str) -> tuple[services.CodeUse, str]:
    """Try ``code`` as the user's TOTP, then as a recovery code: what it did, and as which
    factor (``USED`` when it matches a used-up code of either and is accepted by neither)."""
    code = code.strip()[:64]
    outcome, factor = services.CodeUse.WRONG, "totp"
    authenticator = selectors.totp_of(user)
    if authenticator is not None:
        outcome = services.totp_consume(authenticator, code)
    if outcome is services.CodeUse.WRONG and recovery_codes.looks_like_recovery_code(code):
        outcome, factor = services.recovery_code_consume(user=user, code=code), "recovery_code"
    return outcome, factor


def _locked_message(seconds: int) -> str:
    return _("Too many wrong codes. Codes are locked for %(wait)s; try again after that.") % {
        "wait": wait_text(seconds)
    }


# --- enrolment -----------------------------------------------------------------------------


def may_change_factors(request: HttpRequest, subject: Subject) -> bool:
    """Adding or removing a factor needs a sign-in in the last ``MFA_REAUTH_SECONDS`` that used
    the second factor when the user has one (a pending enrolment is such a fresh sign-in)."""
    if subject.must_enrol:
        return True
    if subject.pending is not None:
        return False
    state = auth_state(request)
    if state is None or clock.now() - state.get("auth_time", 0) > conf.settings.MFA_REAUTH_SECONDS:
        return False
    return policy.is_multi_factor(state) or not selectors.has_factor(subject.user)


def may_remove(user: Any, authenticator: Any) -> bool:
    """The last sign-in factor of a user who must use MFA stays until another is added."""
    if not policy.user_requires_mfa(user):
        return True
    others = [a for a in selectors.authenticators_of(user) if a.pk != authenticator.pk]
    return any(a.type != a.Type.RECOVERY_CODES for a in others)


def totp_setup_secret(request: HttpRequest) -> str:
    """The seed offered on the setup page, kept (encrypted) in the session until confirmed."""
    stored = request.session.get(TOTP_SETUP)
    if isinstance(stored, str):
        return decrypt(stored).decode()
    secret = totp.generate_secret()
    request.session[TOTP_SETUP] = encrypt(secret.encode())
    return secret


def totp_activate(request: HttpRequest, subject: Subject, code: str) -> bool:
    """Confirm the offered seed with one code; on success the factor is active, recovery codes
    exist (new ones are kept in the session to be shown once) and the session is multi-factor."""
    secret = totp_setup_secret(request)
    user = subject.user
    with transaction.atomic():
        if (
            services.authenticator_totp_activate(
                user=user, secret=secret, code=code, meta=request_meta(request)
            )
            is None
        ):
            _audit(
                request,
                user,
                "mfa.enrol",
                outcome=AuditEvent.Outcome.FAILURE,
                factor="totp",
            )
            return False
        codes = _first_recovery_codes(user)
    request.session.pop(TOTP_SETUP, None)
    _enrolled(request, subject, AMR_OTP, codes)
    return True


def regenerate_recovery_codes(request: HttpRequest, user: Any) -> None:
    request.session[NEW_RECOVERY_CODES] = services.recovery_codes_generate(user=user)


def pop_new_recovery_codes(request: HttpRequest) -> list[str]:
    codes = request.session.pop(NEW_RECOVERY_CODES, None)
    return codes if isinstance(codes, list) else []


# --- step-up at the authorization endpoint and device approval -----------------------------


def step_up_url(
    request: HttpRequest,
    *,
    client: Any,
    next_url: str,
    acr_values: str | None = None,
    claims: Any = None,
) -> str | None:
    """Where a signed-in user must go before a code (or device approval) is issued: the
    second-factor page, or enrolment when they have no factor; None when the session suffices."""
    user = request.user
    required = policy.mfa_required(user, client=client, acr_values=acr_values, claims=claims)
    if not required or policy.is_multi_factor(auth_state(request)):
        return None
    target = "mfa:authenticate" if selectors.has_factor(user) else "mfa:totp-setup"
    return f"{reverse(target)}?{urlencode({'next': next_url})}"


# --- passkeys (WebAuthn) -------------------------------------------------------------------

REGISTER_CHALLENGE = "mfa.webauthn.register"
AUTHENTICATE_CHALLENGE = "mfa.webauthn.authenticate"


def _user_handle(user: Any) -> bytes:
    """A stable, opaque WebAuthn user handle (no username or database id leaves the server)."""
    return bytes.fromhex(keyed_hash(str(user.pk), "webauthn-user-handle"))[:32]


def passkey_register_options(request: HttpRequest, subject: Subject) -> str:
    existing = [a.data for a in selectors.passkeys_of(subject.user)]
    options, challenge = passkeys.registration_options(
        user_handle=_user_handle(subject.user),
        username=subject.user.get_username(),
        existing=existing,
    )
    request.session[REGISTER_CHALLENGE] = challenge
    return options


def passkey_register(request: HttpRequest, subject: Subject, credential: dict, name: str) -> bool:
    """Verify a new credential and store it; like a TOTP activation, it makes the session
    multi-factor and creates recovery codes when there are none."""
    challenge = request.session.pop(REGISTER_CHALLENGE, None)
    user = subject.user
    try:
        if not isinstance(challenge, str):
            raise passkeys.CeremonyFailed("no challenge")
        data = passkeys.verify_registration(credential, challenge)
    except passkeys.CeremonyFailed as exc:
        _audit(
            request,
            user,
            "mfa.enrol",
            outcome=AuditEvent.Outcome.FAILURE,
            factor="webauthn",
            reason=str(exc),
        )
        return False
    amr = passkeys.AMR_SOFTWARE if data["multi_device"] else passkeys.AMR_HARDWARE
    with transaction.atomic():
        services.authenticator_passkey_add(
            user=user,
            name=name.strip()[:64] or "Passkey",
            data=data,
            meta=request_meta(request),
        )
        codes = _first_recovery_codes(user)
    _enrolled(request, subject, amr, codes)
    return True


def passkey_authenticate_options(request: HttpRequest, subject: Subject) -> str:
    credentials = [a.data for a in selectors.passkeys_of(subject.user)]
    options, challenge = passkeys.authentication_options(credentials)
    request.session[AUTHENTICATE_CHALLENGE] = challenge
    return options


def passkey_authenticate(request: HttpRequest, subject: Subject, credential: dict) -> bool:
    """Verify an assertion by one of the subject's credentials (one use per challenge)."""
    challenge = request.session.pop(AUTHENTICATE_CHALLENGE, None)
    user = subject.user
    try:
        if not isinstance(challenge, str):
            raise passkeys.CeremonyFailed("no challenge")
        wanted = passkeys.credential_id_of(credential)
        stored = next(
            (a for a in selectors.passkeys_of(user) if a.data["credential_id"] == wanted), None
        )
        if stored is None:
            raise passkeys.CeremonyFailed("unknown credential")
        assertion = passkeys.verify_assertion(credential, challenge, stored.data)
        if not services.passkey_record_use(stored, assertion.new_sign_count):
            raise passkeys.CeremonyFailed("sign count raced")
    except passkeys.CeremonyFailed as exc:
        _audit(
            request,
            user,
            "mfa.verify",
            outcome=AuditEvent.Outcome.FAILURE,
            factor="webauthn",
            reason=str(exc),
        )
        return False
    _audit(request, user, "mfa.verify", factor="webauthn")
    _complete(request, subject, assertion.amr)
    return True
