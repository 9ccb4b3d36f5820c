"""RFC 7662 token introspection (ours: it serves our token rows, API keys and policy)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import View

from core.responses import NO_STORE, json_response, oauth_error
from oauth import events, introspection
from oauth.client_auth.secret import authenticate_client, claimed_client_id


class IntrospectView(View):
    """RFC 7662. Callers authenticate as a confidential client (Basic or client_secret_post);
    mounted through ``machine_view``. An extra parameter ``ip_address`` states where the
    token's holder is (an API key with a source allow-list is inactive without it)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        caller = authenticate_client(request)
        if caller is None:
            events.introspection_refused(request, claimed_client_id(request))
            return oauth_error(
                "invalid_client",
                "Client authentication failed.",
                status=401,
                **{"WWW-Authenticate": 'Basic realm="authserver"'},
            )
        result = introspection.introspect(
            request.POST.get("token", ""),
            caller=caller,
            holder_ip=request.POST.get("ip_address") or None,
        )
        return json_response(result, NO_STORE)
