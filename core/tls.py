"""The request's TLS client certificate (mutual TLS, RFC 8705), from wherever TLS ended.

- TLS terminated here (gunicorn with ``TLS_CERTFILE``/``TLS_KEYFILE`` and ``TLS_CLIENT_CA_FILE``):
  the handshake asks for an optional client certificate and OpenSSL verifies it against
  ``TLS_CLIENT_CA_FILE`` (a certificate it did not sign fails the handshake: Python's ``ssl``
  has no verification callback that could let it through). ``take`` puts the peer's DER into
  the environ, marked as verified.
- Behind a proxy in ``TRUSTED_PROXIES``: the header named by ``TLS_CLIENT_CERT_HEADER``, either
  nginx's ``$ssl_client_escaped_cert`` (URL-encoded PEM) or RFC 9440's ``Client-Cert``
  (``:base64 DER:``), or Envoy's ``X-Forwarded-Client-Cert`` (``Cert=`` URL-encoded PEM,
  ``Hash=`` hex SHA-256 of the DER), of which the element the adjacent proxy appended (the last)
  counts. A proxy may accept any certificate (nginx ``ssl_verify_client optional_no_ca``), so a
  forwarded certificate is not taken as verified: ``tls_client_auth`` verifies its chain here.
  From any other peer both headers are removed (``core.proxy.TrustedProxies`` calls ``take``), so
  nothing downstream sees them.

``client_certificate`` parses the certificate once per request; ``thumbprint`` is its RFC 8705
``x5t#S256``, which ``certificate_thumbprint`` also knows from an XFCC ``Hash=`` alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import ssl
from collections.abc import MutableMapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification
from django.conf import settings
from django.http import HttpRequest

from core import clock

log = logging.getLogger(__name__)

# environ keys no HTTP header can produce (those all start with HTTP_)
ENVIRON_DER = "authserver.tls.client_cert"
ENVIRON_VERIFIED = "authserver.tls.client_cert_verified"
ENVIRON_SHA256 = "authserver.tls.client_cert_sha256"
XFCC = "HTTP_X_FORWARDED_CLIENT_CERT"
MAX_HEADER_LENGTH = 16384  # gunicorn's limit_request_field_size
_UNSET = object()


def _header_key(name: str) -> str:
    return "HTTP_" + name.strip().upper().replace("-", "_")


def take(environ: MutableMapping[str, Any], *, trusted: bool) -> None:
    """Settle the request's client certificate in its WSGI ``environ``: the TLS peer's (verified
    by the handshake), else, from a ``trusted`` proxy, the one its headers carry. The headers
    are removed either way."""
    forwarded = environ.pop(_header_key(settings.TLS_CLIENT_CERT_HEADER), None)
    xfcc = environ.pop(XFCC, None)
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, ssl.SSLSocket):
        der = sock.getpeercert(binary_form=True)
        if der:
            environ[ENVIRON_DER], environ[ENVIRON_VERIFIED] = der, True
            return
    if not trusted:
        return
    if forwarded:
        der = _from_header(forwarded)
        if der is not None:
            environ[ENVIRON_DER] = der
    elif xfcc:
        der, sha256 = _from_xfcc(xfcc)
        if der is not None:
            environ[ENVIRON_DER] = der
        elif sha256 is not None:
            environ[ENVIRON_SHA256] = sha256


def _pem_der(pem: str) -> bytes | None:
    try:
        return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except ValueError:
        return None


def _from_header(value: str) -> bytes | None:
    """The DER of nginx's URL-encoded PEM or of RFC 9440's ``:base64:`` byte sequence."""
    value = value.strip()[:MAX_HEADER_LENGTH]
    if value.startswith(":") and value.endswith(":") and len(value) > 2:
        try:
            return base64.b64decode(value[1:-1], validate=True)
        except binascii.Error:
            return None
    der = _pem_der(unquote(value))
    if der is None:
        log.warning("the forwarded client certificate is not a PEM certificate")
    return der


def _xfcc_elements(value: str) -> list[dict[str, str]]:
    """Envoy's XFCC: elements separated by ``,``, pairs by ``;``, values maybe quoted."""
    elements: list[dict[str, str]] = [{}]
    key, buf, quoted, escaped = None, "", False, False
    for char in value[:MAX_HEADER_LENGTH] + ",":
        if escaped:
            buf, escaped = buf + char, False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif quoted:
            buf += char
        elif char == "=" and key is None:
            key, buf = buf.strip().lower(), ""
        elif char in ";,":
            if key is not None:
                elements[-1][key] = buf.strip()
            key, buf = None, ""
            if char == ",":
                elements.append({})
        else:
            buf += char
    return [element for element in elements if element]


def _from_xfcc(value: str) -> tuple[bytes | None, str | None]:
    """(DER of ``Cert=``, hex ``Hash=``) of the last element; a ``Cert`` that does not match
    its ``Hash`` counts as none."""
    elements = _xfcc_elements(value)
    if not elements:
        return None, None
    last = elements[-1]
    sha256 = last.get("hash", "").lower() or None
    der = _pem_der(unquote(last["cert"])) if last.get("cert") else None
    if der is not None and sha256 is not None and hashlib.sha256(der).hexdigest() != sha256:
        log.warning("XFCC Cert and Hash disagree: the certificate is ignored")
        return None, None
    return der, sha256


def client_certificate(request: HttpRequest) -> x509.Certificate | None:
    """The request's client certificate (parsed once per request), or None."""
    cached = getattr(request, "_tls_client_certificate", _UNSET)
    if cached is not _UNSET:
        return cached
    der = request.META.get(ENVIRON_DER)
    certificate = None
    if der:
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            log.warning("the client certificate is not DER")
    request._tls_client_certificate = certificate
    return certificate


def thumbprint(certificate: x509.Certificate) -> str:
    """RFC 8705 §3.1 ``x5t#S256``: base64url of the SHA-256 of the certificate's DER."""
    digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def certificate_thumbprint(request: HttpRequest) -> str | None:
    """The ``x5t#S256`` of the request's client certificate (or of an XFCC ``Hash=`` alone)."""
    certificate = client_certificate(request)
    if certificate is not None:
        return thumbprint(certificate)
    sha256 = request.META.get(ENVIRON_SHA256)
    try:
        digest = bytes.fromhex(sha256) if sha256 else b""
    except ValueError:
        return None
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() if len(digest) == 32 else None


# The Web PKI's rules (cryptography's), but a client certificate may name its subject in the DN
# alone (tls_client_auth_subject_dn): no SAN needed. The clientAuth key usage still is.
_EE_POLICY = verification.ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
)


@lru_cache(maxsize=4)
def _store(path: str) -> verification.Store:
    with open(path, "rb") as file:
        return verification.Store(x509.load_pem_x509_certificates(file.read()))


def issued_by_trusted_ca(request: HttpRequest) -> bool:
    """Whether the request's certificate chains to ``TLS_CLIENT_CA_FILE`` for client
    authentication (verified by our own handshake, else here, at the clock's time, with the
    file's certificates as trust anchors: a forwarded certificate comes without its chain)."""
    certificate = client_certificate(request)
    if certificate is None or not settings.TLS_CLIENT_CA_FILE:
        return False
    if request.META.get(ENVIRON_VERIFIED):
        return True
    try:
        store = _store(settings.TLS_CLIENT_CA_FILE)
    except (OSError, ValueError) as exc:
        log.error("TLS_CLIENT_CA_FILE %s unusable: %s", settings.TLS_CLIENT_CA_FILE, exc)
        return False
    verifier = (
        verification.PolicyBuilder()
        .store(store)
        .time(datetime.fromtimestamp(clock.now(), tz=UTC))
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=_EE_POLICY
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, [])
    except verification.VerificationError as exc:
        log.info("client certificate not issued by TLS_CLIENT_CA_FILE: %s", exc)
        return False
    return True
