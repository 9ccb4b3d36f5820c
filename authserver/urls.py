"""URL map: /o/ (OAuth/OIDC), /.well-known/, /access/v1/ (AuthZEN), /api/ (management API),
/accounts/ (sign-in), /device (device flow)."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import include, path
from oauth2_provider import views as dot_views

from oauth.urls import wellknown_urlpatterns
from roles import views as roles_views

urlpatterns = [
    path("o/", include("oauth.urls")),
    path(".well-known/", include(wellknown_urlpatterns)),
    path(".well-known/authzen-configuration", roles_views.configuration, name="authzen-config"),
    path("access/v1/", include("roles.urls")),
    path("api/", include("mgmt.api.urls")),
    path("accounts/", include("accounts.urls")),
    path("device", dot_views.DeviceUserCodeView.as_view(), name="device"),
    path("", lambda request: redirect("accounts:login")),
]

if settings.BENCH_MODE:
    from authserver.bench import urlpatterns as bench_urlpatterns

    urlpatterns += bench_urlpatterns
