"""HTTP endpoints of the authorization server, one module per endpoint.

DOT's views are extended where they exist (authorize, token, userinfo; revocation, logout and the
device endpoints are DOT's own); introspection, JWKS and the two discovery documents are ours
because they serve our key store and our policy.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt


def machine_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A machine endpoint's view function (``as_view()``): its callers authenticate themselves
    and send no cookies, so it is exempt from CSRF and from any sign-in requirement. Marked
    once here: DOT marks its views with ``method_decorator`` on ``dispatch``, which builds both
    wrappers again on every request."""
    return csrf_exempt(login_not_required(view))
