"""When a second factor is required, and what counts as one (``acr`` levels).

``acr`` is a level of assurance: ``1`` for a password alone, ``2`` for multi-factor. MFA is
required when any source asks for it: the global ``MFA_REQUIRED`` setting, the user's own
flag, one of the user's roles (``roles.selectors.user_requires_mfa`` once RBAC exists), the
client's ``require_mfa``, or the authorization request (``acr_values`` containing ``2`` or an
essential ``acr`` claim asking for ``2``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from accounts.session import ACR_MFA, ACR_PASSWORD
from mfa import conf

ACR_VALUES_SUPPORTED = [ACR_PASSWORD, ACR_MFA]


@functools.cache
def _roles_hook() -> Callable[[Any], bool] | None:
    try:
        from roles.selectors import user_requires_mfa
    except ImportError:
        return None
    return user_requires_mfa


def roles_require_mfa(user: Any) -> bool:
    """Whether one of ``user``'s roles has ``require_mfa`` (False until RBAC provides it)."""
    hook = _roles_hook()
    return bool(hook(user)) if hook is not None else False


def user_requires_mfa(user: Any) -> bool:
    """MFA required whatever the client asks: global setting, user flag or a role."""
    return bool(conf.settings.MFA_REQUIRED or user.mfa_required or roles_require_mfa(user))


def _essential_acr_values(claims: Any) -> set[str]:
    """Values demanded by an essential ``acr`` claim request (OIDC Core §5.5.1.1)."""
    if isinstance(claims, str):
        try:
            claims = json.loads(claims)
        except ValueError:
            return set()
    if not isinstance(claims, Mapping):
        return set()
    wanted: set[str] = set()
    for member in ("id_token", "userinfo"):
        request = claims.get(member)
        acr = request.get("acr") if isinstance(request, Mapping) else None
        if not isinstance(acr, Mapping) or acr.get("essential") is not True:
            continue
        if isinstance(acr.get("value"), str):
            wanted.add(acr["value"])
        values = acr.get("values")
        if isinstance(values, list):
            wanted.update(v for v in values if isinstance(v, str))
    return wanted


def request_requires_mfa(*, acr_values: str | None = None, claims: Any = None) -> bool:
    requested = set((acr_values or "").split()) | _essential_acr_values(claims)
    return ACR_MFA in requested


def mfa_required(
    user: Any, *, client: Any = None, acr_values: str | None = None, claims: Any = None
) -> bool:
    return (
        user_requires_mfa(user)
        or bool(getattr(client, "require_mfa", False))
        or request_requires_mfa(acr_values=acr_values, claims=claims)
    )


def is_multi_factor(state: Mapping[str, Any] | None) -> bool:
    """Whether a session's sign-in state (``accounts.session.auth_state``) used MFA."""
    return bool(state) and state.get("acr") == ACR_MFA
