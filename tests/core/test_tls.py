"""Where the client certificate comes from (``core.tls``), through ``core.proxy.TrustedProxies``
as every request passes it: a proxy's header counts from a ``TRUSTED_PROXIES`` peer only and is
removed for everyone else; nginx's escaped PEM, RFC 9440's byte sequence and Envoy's XFCC."""

import base64
import hashlib
from urllib.parse import quote

import pytest
from django.test import RequestFactory

from core import tls
from core.proxy import TrustedProxies, parse_networks
from tests.mtls import Ca

CA = Ca()
CERT = CA.issue("orders-svc")
PROXY = "10.0.0.5"


def seen(remote: str, **headers: str) -> dict:
    environ: dict = {}

    def app(env: dict, start_response) -> list[bytes]:  # noqa: ANN001
        environ.update(env)
        return []

    TrustedProxies(app, parse_networks(["10.0.0.0/8"]))(
        {"REMOTE_ADDR": remote, "wsgi.url_scheme": "http", **headers}, lambda *a: None
    )
    return environ


def thumbprint_of(environ: dict) -> str | None:
    request = RequestFactory().get("/", **environ)
    return tls.certificate_thumbprint(request)


def xfcc(*elements: str) -> str:
    return ",".join(elements)


def test_the_header_of_an_untrusted_peer_is_ignored_and_removed():
    environ = seen(
        "203.0.113.9",
        HTTP_X_SSL_CLIENT_CERT=CERT.nginx_header(),
        HTTP_X_FORWARDED_CLIENT_CERT=f'Cert="{quote(CERT.pem)}"',
    )
    assert tls.ENVIRON_DER not in environ
    assert "HTTP_X_SSL_CLIENT_CERT" not in environ
    assert "HTTP_X_FORWARDED_CLIENT_CERT" not in environ
    assert thumbprint_of(environ) is None


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_SSL_CLIENT_CERT": CERT.nginx_header()},  # nginx $ssl_client_escaped_cert
        {"HTTP_X_SSL_CLIENT_CERT": f":{base64.b64encode(CERT.der).decode()}:"},  # RFC 9440
        {
            "HTTP_X_FORWARDED_CLIENT_CERT": xfcc(
                'By=spiffe://edge;Hash=00;Cert="junk"',  # an earlier hop's element
                f"By=spiffe://mesh;Hash={hashlib.sha256(CERT.der).hexdigest()};"
                f'Cert="{quote(CERT.pem)}";Subject="CN=orders-svc,O=Example"',
            )
        },
    ],
    ids=["nginx", "rfc9440", "xfcc"],
)
def test_a_trusted_proxy_forwards_the_certificate(header):
    environ = seen(PROXY, **header)
    assert environ[tls.ENVIRON_DER] == CERT.der
    assert tls.ENVIRON_VERIFIED not in environ  # the chain is checked by tls_client_auth
    assert thumbprint_of(environ) == CERT.x5t


def test_the_header_name_is_configurable(settings):
    settings.TLS_CLIENT_CERT_HEADER = "Client-Cert"
    environ = seen(PROXY, HTTP_CLIENT_CERT=CERT.nginx_header())
    assert environ[tls.ENVIRON_DER] == CERT.der
    other = seen(PROXY, HTTP_X_SSL_CLIENT_CERT=CERT.nginx_header())  # no longer the header
    assert tls.ENVIRON_DER not in other


def test_an_xfcc_hash_alone_gives_the_thumbprint_and_a_mismatch_gives_nothing():
    digest = hashlib.sha256(CERT.der).hexdigest()
    environ = seen(PROXY, HTTP_X_FORWARDED_CLIENT_CERT=f"By=spiffe://mesh;Hash={digest}")
    assert tls.ENVIRON_DER not in environ and thumbprint_of(environ) == CERT.x5t
    other = CA.issue("other")
    mismatch = f'Hash={digest};Cert="{quote(other.pem)}"'
    assert thumbprint_of(seen(PROXY, HTTP_X_FORWARDED_CLIENT_CERT=mismatch)) is None


@pytest.mark.parametrize(
    "value", ["garbage", ":not base64!:", quote("-----BEGIN CERTIFICATE-----")]
)
def test_a_malformed_forwarded_certificate_is_no_certificate(value):
    assert thumbprint_of(seen(PROXY, HTTP_X_SSL_CLIENT_CERT=value)) is None
