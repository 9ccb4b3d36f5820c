"""Certificates made by the tests for mutual TLS (RFC 8705): a CA, the client certificates it
issues, self-signed ones, and the ways a request carries one (our handshake's environ, a
proxy's header)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jwcrypto.jwk import JWK

from core import tls


def _name(cn: str, org: str = "Example") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass
class Identity:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def x5t(self) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(self.der).digest()).rstrip(b"=").decode()

    def jwks(self) -> dict[str, Any]:
        """A key set holding this certificate's public key (self_signed_tls_client_auth)."""
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {"keys": [json.loads(JWK.from_pem(public).export_public())]}

    def files(self, directory: Path, name: str) -> tuple[str, str]:
        """(certificate file, key file), PEM, for ``requests``' ``cert=`` or a server."""
        cert, key = directory / f"{name}.pem", directory / f"{name}.key"
        cert.write_text(self.pem)
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return str(cert), str(key)

    # how a request carries it, for the test client
    def direct(self) -> dict[str, Any]:
        """The environ our own TLS handshake leaves (the chain verified by OpenSSL)."""
        return {tls.ENVIRON_DER: self.der, tls.ENVIRON_VERIFIED: True}

    def forwarded(self) -> dict[str, Any]:
        """The environ of a certificate a trusted proxy forwarded (the chain not verified)."""
        return {tls.ENVIRON_DER: self.der}

    def nginx_header(self) -> str:
        """``$ssl_client_escaped_cert``: the PEM, URL-encoded."""
        return quote(self.pem, safe="")


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


class Ca:
    """A certificate authority issuing client (and server) certificates."""

    def __init__(self, name: str = "Test client CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(name)
        self.certificate = (
            _builder(self.name, self.name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def write(self, path: Path) -> str:
        path.write_text(self.pem)
        return str(path)

    def issue(
        self,
        cn: str,
        *,
        dns: tuple[str, ...] = (),
        uris: tuple[str, ...] = (),
        ips: tuple[str, ...] = (),
        emails: tuple[str, ...] = (),
        server: bool = False,
    ) -> Identity:
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [
            *(x509.DNSName(d) for d in dns),
            *(x509.UniformResourceIdentifier(u) for u in uris),
            *(x509.IPAddress(ipaddress.ip_address(i)) for i in ips),
            *(x509.RFC822Name(e) for e in emails),
        ]
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            _builder(_name(cn), self.name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Identity(builder.sign(self.key, hashes.SHA256()), key)


def self_signed(cn: str) -> Identity:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(_name(cn), _name(cn), key.public_key())
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Identity(certificate, key)
