"""``EMAIL_URL`` parsing: the three schemes, ports, credentials, refusals."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mail.url import SMTP_BACKEND, parse_email_url


def test_plain_smtp_defaults_to_port_25_without_tls() -> None:
    parsed = parse_email_url("smtp://relay.internal")
    assert parsed == {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": "relay.internal",
        "EMAIL_PORT": 25,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": 10.0,
    }


def test_smtp_tls_is_starttls_on_587() -> None:
    parsed = parse_email_url("smtp+tls://mailer:s3cret@smtp.example.com")
    assert (parsed["EMAIL_PORT"], parsed["EMAIL_USE_TLS"], parsed["EMAIL_USE_SSL"]) == (
        587,
        True,
        False,
    )
    assert (parsed["EMAIL_HOST_USER"], parsed["EMAIL_HOST_PASSWORD"]) == ("mailer", "s3cret")


def test_smtps_is_implicit_tls_and_credentials_are_percent_decoded() -> None:
    parsed = parse_email_url("smtps://ops%40example.com:p%3Ass%2Fw@smtp.example.com:2465?timeout=3")
    assert parsed["EMAIL_USE_SSL"] is True and parsed["EMAIL_USE_TLS"] is False
    assert parsed["EMAIL_PORT"] == 2465
    assert parsed["EMAIL_HOST_USER"] == "ops@example.com"
    assert parsed["EMAIL_HOST_PASSWORD"] == "p:ss/w"
    assert parsed["EMAIL_TIMEOUT"] == 3.0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://smtp.example.com", "scheme"),
        ("smtp://", "no host"),
        ("smtp://smtp.example.com:notaport", "EMAIL_URL"),
        ("smtp://smtp.example.com?timeout=soon", "EMAIL_URL"),
    ],
)
def test_bad_urls_are_refused_saying_why(url: str, reason: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=reason):
        parse_email_url(url)


def test_settings_read_email_url_in_either_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's settings module turns ``EMAIL_URL`` into the SMTP backend (the embedded
    mode too); without it the ``.eml`` files are the default."""
    import importlib

    import authserver.settings as project

    monkeypatch.setenv("EMAIL_URL", "smtp+tls://u:p@mx.example.com:2525")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with_url = importlib.reload(project)
    assert (with_url.EMAIL_BACKEND, with_url.EMAIL_HOST, with_url.EMAIL_PORT) == (
        SMTP_BACKEND,
        "mx.example.com",
        2525,
    )
    assert with_url.EMAIL_USE_TLS is True
    monkeypatch.delenv("EMAIL_URL")
    monkeypatch.delenv("EMAIL_HOST", raising=False)
    assert importlib.reload(project).EMAIL_BACKEND == "mail.backends.EmlFileBackend"
