"""Sender-constrained access tokens at our doors: the one check of how a token was presented.

A token we signed may be bound (its ``cnf``) to a DPoP key (``jkt``, RFC 9449) or to a TLS client
certificate (``x5t#S256``, RFC 8705 §3), or both. Every door that accepts our access tokens
(userinfo, the management API, the AuthZEN caller, the gateway endpoint) calls ``presented``,
which takes the token from the request and says what is wrong with its presentation: a
DPoP-bound token needs the ``DPoP`` scheme and a proof of its key for this request, a
certificate-bound one the same client certificate (``core.tls``: our handshake, or the one a
trusted proxy or gateway forwarded).
"""

from __future__ import annotations

from typing import NamedTuple

from django.http import HttpRequest

from core import tls
from oauth import dpop, tokens

BEARER_CHALLENGE = 'Bearer realm="authserver"'
NOT_CERTIFICATE_BOUND = (
    "the access token is bound to a TLS client certificate: present it with that certificate"
)


class Presented(NamedTuple):
    token: str
    problem: str | None  # None: presented as its binding requires
    challenge: str  # WWW-Authenticate of a refusal, before its error: DPoP's or Bearer's

    def www_authenticate(self) -> str:
        """The refusal's ``WWW-Authenticate``: the challenge, ``invalid_token`` and why."""
        return f'{self.challenge}, error="invalid_token", error_description="{self.problem}"'


def binding(token: str) -> dict[str, str]:
    """The ``cnf`` members of a token we signed (its signature is checked by the door that
    accepts it): ``jkt`` and/or ``x5t#S256``, none for a bearer token."""
    cnf = (tokens.unverified_claims(token) or {}).get("cnf")
    if not isinstance(cnf, dict):
        return {}
    return {k: v for k, v in cnf.items() if k in ("jkt", "x5t#S256") and isinstance(v, str)}


def presented(request: HttpRequest, *, method: str, url: str) -> Presented:
    """The access token of ``Authorization`` (``Bearer`` or ``DPoP``; or, where a door takes
    one, a form body's ``access_token``) and what is wrong with how it was presented. ``url``
    may be a path alone (the gateway knows only the original path)."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    scheme, token = scheme.lower(), value.strip()
    if scheme not in ("bearer", "dpop") or not token:
        scheme, token = (
            "bearer",
            request.POST.get("access_token", "") if request.method == "POST" else "",
        )
    cnf = binding(token) if token else {}
    jkt = cnf.get("jkt")
    challenge = dpop.CHALLENGE if jkt or scheme == "dpop" else BEARER_CHALLENGE
    problem = _dpop_problem(request, scheme, token, jkt, method=method, url=url)
    if problem is None and "x5t#S256" in cnf:
        if tls.certificate_thumbprint(request) != cnf["x5t#S256"]:
            problem = NOT_CERTIFICATE_BOUND
    return Presented(token, problem, challenge)


def _dpop_problem(
    request: HttpRequest, scheme: str, token: str, jkt: str | None, *, method: str, url: str
) -> str | None:
    if scheme == "bearer":
        return "the access token is DPoP-bound: present it with a DPoP proof" if jkt else None
    if jkt is None:
        return "the access token is not DPoP-bound"
    try:
        proven = dpop.verify(
            request.META.get("HTTP_DPOP", ""), method=method, url=url, access_token=token
        )
    except dpop.ProofError as exc:
        return str(exc)
    return None if proven == jkt else "the DPoP proof is from another key"
