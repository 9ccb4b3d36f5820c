"""URL map: /o/ (OAuth/OIDC), /.well-known/, /access/v1/ (AuthZEN), /gateway/ (gateway
enforcement), /api/ (management API), /accounts/ (sign-in), /mfa/ (second factors), /account/
(the account page, also where / sends a signed-in user), /password/, /email/, /invitation/,
/register/ (the pages behind the links sent by mail), /device (device flow), /console/ (admin
console), /branding/ (the theme stylesheet), upstream sign-in under /accounts/login/<slug>/ and
/account/providers/ (federation)."""

from django.conf import settings
from django.urls import include, path
from oauth2_provider import views as dot_views

from authserver import errors, ops
from core.metrics import metrics_view
from oauth.urls import wellknown_urlpatterns
from roles import gateway
from roles import views as roles_views
from selfservice import link_views
from selfservice import views as selfservice_views

handler400 = errors.bad_request
handler500 = ops.server_error

urlpatterns = [
    path("o/", include("oauth.urls")),
    path(".well-known/", include(wellknown_urlpatterns)),
    path(".well-known/authzen-configuration", roles_views.configuration, name="authzen-config"),
    path("access/v1/", include("roles.urls")),
    path("gateway/auth", gateway.nginx_auth, name="gateway-nginx"),
    path("gateway/envoy", gateway.envoy_auth, name="gateway-envoy-root"),
    path("gateway/envoy/<path:path>", gateway.envoy_auth, name="gateway-envoy"),
    path("api/v1/identity-providers/", include("federation.api.urls")),
    path("api/", include("mgmt.api.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("federation.urls")),
    path("mfa/", include("mfa.urls")),
    path("console/", include("console.urls")),
    path("setup/", include("setup.urls")),
    path("", include("selfservice.urls")),
    path("account/email/", link_views.email_change, name="account-email"),
    path("branding/", include("branding.urls")),
    path("device", dot_views.DeviceUserCodeView.as_view(), name="device"),
    path("health/live", ops.live, name="health-live"),
    path("health/ready", ops.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("", selfservice_views.signed_in_home, name="home"),
]

if settings.BENCH_MODE:
    from authserver.bench import urlpatterns as bench_urlpatterns

    urlpatterns += bench_urlpatterns
