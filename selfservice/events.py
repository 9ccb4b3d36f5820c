"""The user's own audit events in plain words (the account page's "Recent security events")."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent

SUCCESS, FAILURE, DENIED = (
    AuditEvent.Outcome.SUCCESS,
    AuditEvent.Outcome.FAILURE,
    AuditEvent.Outcome.DENIED,
)

# event -> outcome -> words; an outcome not listed reads as the event's success words.
WORDS: dict[str, dict[str, Promise]] = {
    "login": {
        SUCCESS: _("Signed in"),
        FAILURE: _("Failed sign-in: wrong username or password"),
        DENIED: _("Sign-in refused: too many attempts"),
    },
    "login.throttled": {SUCCESS: _("Sign-in paused after repeated failures")},
    "mfa.verify": {
        SUCCESS: _("Second factor accepted"),
        FAILURE: _("Wrong second-factor code"),
        DENIED: _("Second factor refused"),
    },
    "mfa.locked": {SUCCESS: _("Second-factor codes locked after wrong codes")},
    "mfa.enrol": {SUCCESS: _("Second factor added")},
    "mfa.remove": {SUCCESS: _("Second factor removed")},
    "mfa.recovery_codes.generate": {SUCCESS: _("New recovery codes made")},
    "mfa.reset": {SUCCESS: _("Second factors reset by an administrator")},
    "user.unlocked": {SUCCESS: _("Account unlocked by an administrator")},
    "user.disabled": {SUCCESS: _("Account disabled")},
    "user.enabled": {SUCCESS: _("Account enabled")},
    "user.password_set": {SUCCESS: _("Password set by an administrator")},
    "user.updated": {SUCCESS: _("Profile changed")},
    "account.password_changed": {
        SUCCESS: _("Password changed"),
        FAILURE: _("Password change failed: wrong current password"),
    },
    "account.session_ended": {SUCCESS: _("Signed out a session")},
    "account.signed_out_elsewhere": {SUCCESS: _("Signed out everywhere else")},
    "session.revoked": {SUCCESS: _("App sign-in ended")},
    "application.revoked": {SUCCESS: _("Application access revoked")},
    "token.reuse_detected": {DENIED: _("A used refresh token came back: that app sign-in ended")},
}
SHOWN_EVENTS = frozenset(WORDS)
# Events whose subject is their actor (they name no target): the user's own sign-ins and checks.
ACTED_EVENTS = frozenset({"login", "mfa.verify", "mfa.locked"})


def words(event: str, outcome: str) -> Promise | str:
    by_outcome = WORDS.get(event)
    if by_outcome is None:
        return event
    return by_outcome.get(outcome) or next(iter(by_outcome.values()))
