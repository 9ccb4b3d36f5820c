"""URL map: /o/ (OAuth/OIDC), /.well-known/, /accounts/ (sign-in), /mfa/ (second factors),
/device (device flow)."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import include, path
from oauth2_provider import views as dot_views

from oauth.urls import wellknown_urlpatterns

urlpatterns = [
    path("o/", include("oauth.urls")),
    path(".well-known/", include(wellknown_urlpatterns)),
    path("accounts/", include("accounts.urls")),
    path("mfa/", include("mfa.urls")),
    path("device", dot_views.DeviceUserCodeView.as_view(), name="device"),
    path("", lambda request: redirect("accounts:login")),
]

if settings.BENCH_MODE:
    from authserver.bench import urlpatterns as bench_urlpatterns

    urlpatterns += bench_urlpatterns
