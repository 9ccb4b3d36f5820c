"""What the token endpoint answered, read once from the response: the limits on failed client
authentication, the audit (``oauth.events``) and the metrics (``oauth.metrics``) use it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class TokenOutcome:
    grant_type: str  # as the request sent it ("" when absent or the body was not read)
    status: int
    error: str  # the RFC 6749 §5.2 error code ("" for a token, or a body without one)

    @classmethod
    def of(cls, request: HttpRequest, response: HttpResponse) -> TokenOutcome:
        """The outcome of ``response`` to ``request`` (a body refused as too large, 413, is
        never read: neither here)."""
        form = request.POST if response.status_code != 413 else {}
        error = ""
        if response.status_code != 200:
            try:
                error = str(json.loads(response.content).get("error", ""))
            except (ValueError, AttributeError):
                error = ""
        return cls(str(form.get("grant_type", "")), response.status_code, error)

    @property
    def client_auth_failed(self) -> bool:
        """Whether the client failed to authenticate (RFC 6749 §5.2 ``invalid_client``)."""
        return self.status == 401 or (self.status == 400 and self.error == "invalid_client")

    def attach(self, response: HttpResponse) -> HttpResponse:
        """``response``, carrying this outcome for the metrics middleware (``of_response``)."""
        response.token_outcome = self  # type: ignore[attr-defined]
        return response


def of_response(request: HttpRequest, response: HttpResponse) -> TokenOutcome:
    """The outcome the token view attached, else (an answer of a middleware) read once here."""
    outcome = getattr(response, "token_outcome", None)
    return outcome if isinstance(outcome, TokenOutcome) else TokenOutcome.of(request, response)
