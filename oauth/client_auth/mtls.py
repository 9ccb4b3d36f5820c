"""Mutual-TLS client authentication (RFC 8705 §2), from the request's client certificate
(``core.tls``: our own handshake, or a trusted proxy's header).

- ``tls_client_auth`` (§2.1): the certificate chains to ``TLS_CLIENT_CA_FILE`` and names the one
  subject the client registered: its subject DN (compared as parsed RFC 4514 names) or a SAN
  (DNS name and e-mail case-insensitively, URI exactly, IP address as an address).
- ``self_signed_tls_client_auth`` (§2.2): the certificate's public key is one of the client's
  registered keys (inline ``jwks``, or ``jwks_uri`` through ``core.fetch``, refetched once when no
  key matches); its chain is not looked at.

The token endpoint's oauthlib request cannot see the Django request, so
``oauth.server.OAuthLibCore`` hands it the certificate's DER (base64) as ``CLIENT_CERT``, a
header name no client can send.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.http import HttpRequest

from core import fetch, tls
from oauth.client_auth.private_key_jwt import JWKS_MAX_BYTES
from oauth.models import MTLS_AUTH_METHODS, SELF_SIGNED_TLS_CLIENT_AUTH, TLS_CLIENT_AUTH, Client
from oauth.selectors import client_get

log = logging.getLogger(__name__)

# oauthlib headers: the base64 DER of the client certificate, and "1" if it chains to
# TLS_CLIENT_CA_FILE
CLIENT_CERT = "Authserver Client-Cert"
CLIENT_CERT_TRUSTED = "Authserver Client-Cert-Trusted"


def _san(certificate: x509.Certificate, kind: type) -> list[Any]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return extension.value.get_values_for_type(kind)


def subject_matches(client: Client, certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` names the subject ``client`` registered (RFC 8705 §2.1.2)."""
    if client.tls_client_auth_subject_dn:
        try:
            return certificate.subject == x509.Name.from_rfc4514_string(
                client.tls_client_auth_subject_dn
            )
        except ValueError:
            return False
    if client.tls_client_auth_san_dns:
        wanted = client.tls_client_auth_san_dns.lower()
        return any(name.lower() == wanted for name in _san(certificate, x509.DNSName))
    if client.tls_client_auth_san_uri:
        return client.tls_client_auth_san_uri in _san(certificate, x509.UniformResourceIdentifier)
    if client.tls_client_auth_san_ip:
        try:
            wanted_ip = ipaddress.ip_address(client.tls_client_auth_san_ip)
        except ValueError:
            return False
        return wanted_ip in _san(certificate, x509.IPAddress)
    if client.tls_client_auth_san_email:
        wanted = client.tls_client_auth_san_email.lower()
        return any(name.lower() == wanted for name in _san(certificate, x509.RFC822Name))
    return False


def _spki(key: Any) -> bytes | None:
    try:
        return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except (AttributeError, TypeError, ValueError):
        return None


def _key_in(jwks: Any, wanted: bytes) -> bool:
    if not isinstance(jwks, dict):
        return False
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except (jwt.PyJWTError, AttributeError, TypeError):
        return False
    return any(_spki(key.key) == wanted for key in keys)


def key_registered(client: Client, certificate: x509.Certificate) -> bool:
    """Whether ``certificate``'s public key is one of ``client``'s registered keys."""
    wanted = _spki(certificate.public_key())
    if wanted is None:
        return False
    if client.jwks or not client.jwks_uri:
        return _key_in(client.jwks, wanted)
    try:
        if _key_in(fetch.fetch_json(client.jwks_uri, max_bytes=JWKS_MAX_BYTES), wanted):
            return True
        refetched = fetch.fetch_json(client.jwks_uri, max_bytes=JWKS_MAX_BYTES, refresh=True)
    except fetch.FetchError as exc:
        log.info("jwks_uri of client %s unavailable: %s", client.client_id, exc)
        return False
    return _key_in(refetched, wanted)


def prefetch_keys(client: Client | None) -> None:
    """Fetch a ``self_signed_tls_client_auth`` client's ``jwks_uri`` before the token view opens
    its transaction (``private_key_jwt.prefetch_key`` says why); failures are left to the
    authentication, which finds the set cached otherwise."""
    if client is None or client.token_endpoint_auth_method != SELF_SIGNED_TLS_CLIENT_AUTH:
        return
    if client.jwks or not client.jwks_uri:
        return
    try:
        fetch.fetch_json(client.jwks_uri, max_bytes=JWKS_MAX_BYTES)
    except fetch.FetchError:
        return


def authenticate(
    client: Client, certificate: x509.Certificate | None, *, chain_trusted: bool
) -> bool:
    """Whether ``certificate`` authenticates ``client`` by its mTLS method (``chain_trusted``:
    it chains to ``TLS_CLIENT_CA_FILE``)."""
    if certificate is None or not client.is_active:
        return False
    if client.token_endpoint_auth_method == TLS_CLIENT_AUTH:
        return chain_trusted and subject_matches(client, certificate)
    if client.token_endpoint_auth_method == SELF_SIGNED_TLS_CLIENT_AUTH:
        return key_registered(client, certificate)
    return False


def authenticate_client(request: HttpRequest, client_id: str) -> Client | None:
    """The client ``client_id`` if the request's certificate authenticates it by its mTLS
    method (endpoints outside oauthlib: introspection), else None."""
    client = client_get(client_id)
    if client is None or client.token_endpoint_auth_method not in MTLS_AUTH_METHODS:
        return None
    certificate = tls.client_certificate(request)
    trusted = certificate is not None and tls.issued_by_trusted_ca(request)
    return client if authenticate(client, certificate, chain_trusted=trusted) else None


def headers(request: HttpRequest) -> dict[str, str]:
    """The oauthlib headers that carry ``request``'s client certificate (none without one)."""
    certificate = tls.client_certificate(request)
    if certificate is None:
        return {}
    return {
        CLIENT_CERT: base64.b64encode(certificate.public_bytes(Encoding.DER)).decode(),
        CLIENT_CERT_TRUSTED: "1" if tls.issued_by_trusted_ca(request) else "",
    }


def authenticate_request(request: Any, client: Client) -> bool:
    """mTLS client authentication of an oauthlib ``request`` (its ``headers``) as ``client``."""
    try:
        certificate = x509.load_der_x509_certificate(
            base64.b64decode(request.headers.get(CLIENT_CERT, ""))
        )
    except (binascii.Error, ValueError):
        return False
    trusted = request.headers.get(CLIENT_CERT_TRUSTED) == "1"
    if not authenticate(client, certificate, chain_trusted=trusted):
        log.info("mTLS client authentication failed for client %s", client.client_id)
        return False
    request.client_id = client.client_id
    return True
