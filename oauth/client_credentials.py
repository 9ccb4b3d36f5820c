"""The client-credentials grant (RFC 6749 §4.4) on a short path through the token endpoint.

A client's own token is the machine-to-machine hot path, and much of its cost was transport
rather than work: DOT re-encoding the form Django had parsed, oauthlib's request converting every
header and parameter to text again and parsing the body, its token endpoint dispatching through
its error wrapper (issue 18; the measurements are in docs/benchmarks.md). The token view hands
``grant_type=client_credentials`` to ``create_token_response`` instead of DOT's, and finishes
its answer as for every grant (``no-store``, ``token_type: DPoP``, ``WWW-Authenticate``). Every
check is the one the oauthlib path runs, from the same objects:

- the oauthlib request comes from ``oauth.server.OAuthLibCore`` (``oauthlib_request``, a
  ``DecodedRequest``): the same headers and parameters the validator reads on every other
  grant (HTTP Basic, the verified DPoP thumbprint, whatever a client-authentication method
  passes there);
- oauthlib's own ``ClientCredentialsGrant.validate_token_request`` of the server DOT built
  validates it: client authentication (``Validator.authenticate_client``, the one entry for
  every method), the client's grant types, its scopes and the RFC 8707 resources (the grant's
  ``post_token`` validator, ``oauth.server``);
- the token is the server's token handler's (``oauth.tokens.generate_access_token``, the
  per-client and per-API lifetime), saved by ``Validator.save_bearer_token`` (its audit event);
- an error is oauthlib's own (RFC 6749 §5.2 body, status and headers).
"""

from __future__ import annotations

import json

from django.http import HttpRequest
from oauthlib.oauth2.rfc6749 import utils
from oauthlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error

from oauth.models import GRANT_CLIENT_CREDENTIALS
from oauth.server import OAuthLibCore


def create_token_response(
    request: HttpRequest, core: OAuthLibCore
) -> tuple[dict[str, str], str, int]:
    """The headers, body and status of the token endpoint's answer to a client-credentials
    ``request`` (the view refuses repeated parameters, checks the DPoP proof and finishes the
    answer), through DOT's oauthlib ``core``: what ``core.create_token_response`` gives."""
    oauth_request = core.oauthlib_request(request)
    server = core.server
    try:
        if request.META.get("QUERY_STRING"):  # as oauthlib's token endpoint refuses them
            raise InvalidRequestError(
                request=oauth_request, description="URL query parameters are not allowed"
            )
        oauth_request.scopes = utils.scope_to_list(oauth_request.scope)
        server.grant_types[GRANT_CLIENT_CREDENTIALS].validate_token_request(oauth_request)
    except OAuth2Error as error:
        return error.headers, error.json, error.status_code
    token = server.default_token_type.create_token(oauth_request, refresh_token=False)
    server.request_validator.save_token(token, oauth_request)
    return {}, json.dumps(token), 200
