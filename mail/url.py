"""``EMAIL_URL``: one URL naming the SMTP server, parsed into Django's ``EMAIL_*`` settings.

- ``smtp://host:25``: plain SMTP (a relay on the same host or network);
- ``smtp+tls://user:pass@host:587``: SMTP upgraded with STARTTLS (``EMAIL_USE_TLS``);
- ``smtps://user:pass@host:465``: SMTP over implicit TLS (``EMAIL_USE_SSL``).

User name and password are percent-decoded (``%40`` for ``@``). The query may set
``timeout=<seconds>`` (default 10: a worker never hangs on a silent server). A small parser
rather than ``dj-email-url``: that library reads ``smtps://`` as STARTTLS and knows no
``smtp+tls://``, the two schemes our operators are told to use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# scheme -> (default port, STARTTLS, implicit TLS)
SCHEMES = {"smtp": (25, False, False), "smtp+tls": (587, True, False), "smtps": (465, False, True)}
DEFAULT_TIMEOUT = 10


def parse_email_url(url: str) -> dict[str, Any]:
    """The ``EMAIL_*`` settings that ``url`` names; ``ImproperlyConfigured`` saying why not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ImproperlyConfigured(
            f"EMAIL_URL: the scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}"
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no host")
    default_port, starttls, implicit_tls = SCHEMES[scheme]
    try:
        port = parts.port or default_port
        query = parse_qs(parts.query)
        timeout = float(query.get("timeout", [DEFAULT_TIMEOUT])[0])
    except ValueError as exc:
        raise ImproperlyConfigured(f"EMAIL_URL: {exc}") from None
    return {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": starttls,
        "EMAIL_USE_SSL": implicit_tls,
        "EMAIL_TIMEOUT": timeout,
    }
