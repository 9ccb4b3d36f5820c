"""WebAuthn ceremonies (the ``webauthn`` package) over plain data: no request, no ORM.

The relying party is the issuer's host (``WEBAUTHN_RP_ID`` overrides it) and the expected origin
is the issuer's origin, so a credential made for another site cannot be replayed here. The
package checks challenge, origin, RP ID, user presence, signature and that the signature counter
moved forward (a cloned authenticator shows an old counter). The package is imported by the
ceremonies themselves: a process that never runs one (a worker at boot, ``manage.py``) does not
pay its 0.1 s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings

from mfa import conf

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

# RFC 8176: ``hwk`` for a key bound to one device, ``swk`` for a synced (multi-device) passkey.
AMR_HARDWARE = "hwk"
AMR_SOFTWARE = "swk"


class CeremonyFailed(Exception):
    """The browser's answer did not verify."""


def rp_id() -> str:
    return conf.settings.WEBAUTHN_RP_ID or urlsplit(settings.ISSUER_URL).hostname or "localhost"


def origin() -> str:
    parts = urlsplit(settings.ISSUER_URL)
    return f"{parts.scheme}://{parts.netloc}"


def _descriptors(credentials: list[dict[str, Any]]) -> list[PublicKeyCredentialDescriptor]:
    import webauthn
    from webauthn.helpers import structs

    return [
        structs.PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(c["credential_id"]))
        for c in credentials
    ]


def registration_options(
    *, user_handle: bytes, username: str, existing: list[dict[str, Any]]
) -> tuple[str, str]:
    """(options JSON for ``navigator.credentials.create``, challenge as base64url)."""
    import webauthn
    from webauthn.helpers import bytes_to_base64url, structs

    options = webauthn.generate_registration_options(
        rp_id=rp_id(),
        rp_name=conf.settings.WEBAUTHN_RP_NAME,
        user_name=username,
        user_id=user_handle,
        exclude_credentials=_descriptors(existing),
        authenticator_selection=structs.AuthenticatorSelectionCriteria(
            resident_key=structs.ResidentKeyRequirement.PREFERRED,
            user_verification=structs.UserVerificationRequirement.PREFERRED,
        ),
    )
    return webauthn.options_to_json(options), bytes_to_base64url(options.challenge)


def verify_registration(credential: dict[str, Any], challenge: str) -> dict[str, Any]:
    """The ``data`` to store for a verified new credential; raises CeremonyFailed."""
    import webauthn
    from webauthn.helpers import bytes_to_base64url, structs
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=webauthn.base64url_to_bytes(challenge),
            expected_rp_id=rp_id(),
            expected_origin=origin(),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise CeremonyFailed(type(exc).__name__) from None
    transports = credential.get("response", {}).get("transports", [])
    return {
        "credential_id": bytes_to_base64url(verified.credential_id),
        "public_key": bytes_to_base64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "multi_device": verified.credential_device_type
        == structs.CredentialDeviceType.MULTI_DEVICE,
        "transports": [t for t in transports if isinstance(t, str)][:8],
    }


def authentication_options(credentials: list[dict[str, Any]]) -> tuple[str, str]:
    """(options JSON for ``navigator.credentials.get``, challenge as base64url)."""
    import webauthn
    from webauthn.helpers import bytes_to_base64url, structs

    options = webauthn.generate_authentication_options(
        rp_id=rp_id(),
        allow_credentials=_descriptors(credentials),
        user_verification=structs.UserVerificationRequirement.PREFERRED,
    )
    return webauthn.options_to_json(options), bytes_to_base64url(options.challenge)


@dataclass(frozen=True)
class Assertion:
    credential_id: str
    new_sign_count: int
    amr: str


def credential_id_of(credential: dict[str, Any]) -> str:
    value = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise CeremonyFailed("no credential id")
    return value


def verify_assertion(
    credential: dict[str, Any], challenge: str, stored: dict[str, Any]
) -> Assertion:
    """Check an assertion against the stored credential; raises CeremonyFailed."""
    import webauthn
    from webauthn.helpers import structs
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=webauthn.base64url_to_bytes(challenge),
            expected_rp_id=rp_id(),
            expected_origin=origin(),
            credential_public_key=webauthn.base64url_to_bytes(stored["public_key"]),
            credential_current_sign_count=int(stored.get("sign_count", 0)),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise CeremonyFailed(type(exc).__name__) from None
    multi = verified.credential_device_type == structs.CredentialDeviceType.MULTI_DEVICE
    return Assertion(
        credential_id=stored["credential_id"],
        new_sign_count=verified.new_sign_count,
        amr=AMR_SOFTWARE if multi else AMR_HARDWARE,
    )


def parse_json(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object of reasonable size."""
    if len(body) > 64 * 1024:
        raise CeremonyFailed("body too large")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CeremonyFailed("not JSON") from None
    if not isinstance(value, dict):
        raise CeremonyFailed("not an object")
    return value
