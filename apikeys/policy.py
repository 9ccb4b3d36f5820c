"""The policy of a presented API key: one check, applied at every door a key can be shown at.

``check(value, client_ip=..., surface=...)`` is called by the management API, the gateway,
AuthZEN subjects, introspection and token exchange alike (SECURITY.md item 83). In order:

1. the key is itself and live: secret (or the previous one within a rotation's grace), not
   revoked, not expired, owner active (``apikeys.authentication``);
2. its source address is in its allow-list. ``client_ip`` is the holder's address where the
   door knows it: where the holder presents the key to us (management API, gateway, token
   exchange) it is the request's address as ``core.proxy`` resolved it; where a resource
   server asks on the holder's behalf (introspection, AuthZEN) it is the address that caller
   states, if any. Unknown (None) never passes a key that has an allow-list;
3. it is within its rate budget: ``API_KEY_RATE_LIMIT`` requests a minute per key (0: off),
   one fixed-window counter in the shared cache for all doors (``API_KEY_RATE``,
   ``core.limits``), counted only for a verified key from an allowed address, so nobody else
   can spend a key's budget (nor guess secrets for a public key id to do so).

Then its use is recorded (``last_used_at``/``_ip``, at most once a minute). The verdict says
which: admitted (with the key), refused (the door never says why), or over the budget (with
the seconds until it resets).
"""

from __future__ import annotations

from dataclasses import dataclass

from apikeys import authentication, network, services
from apikeys.authentication import Authenticated
from core import clock, limits

API_KEY_RATE = limits.Rate("apikeys", "API_KEY_RATE_LIMIT", window=60)


@dataclass(frozen=True)
class Verdict:
    auth: Authenticated | None = None  # the key, when admitted
    retry_after: int | None = None  # over its budget: seconds until the window resets


REFUSED = Verdict()


def check(value: object, *, client_ip: str | None, surface: str) -> Verdict:
    """The verdict on the key ``value`` presented from ``client_ip`` (None: unknown) at
    ``surface``, the door's name in audit lines (``management``, ``gateway``, ``authzen``,
    ``introspection``, ``token_exchange``)."""
    auth = authentication.authenticate(value, client_ip=client_ip)
    if auth is None:
        return REFUSED
    record = auth.record
    if not network.ip_allowed(record.networks, client_ip):
        reason = "source address not allowed" if client_ip else "source address unknown"
        authentication.audit_refusal(
            record, "api_key.refused", client_ip, reason=reason, surface=surface
        )
        return REFUSED
    retry_after = limits.hit(API_KEY_RATE, record.key_id)
    if retry_after is not None:
        return Verdict(retry_after=retry_after)
    services.api_key_mark_used(record, moment=clock.now(), ip=client_ip)
    return Verdict(auth)
