"""OAuth 2 / OIDC endpoints under /o/, and the discovery documents under /.well-known/."""

from django.urls import path
from oauth2_provider import views as dot_views

from oauth import views

app_name = "oauth2_provider"  # DOT's views reverse URLs in this namespace

urlpatterns = [
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", views.machine_view(views.TokenView.as_view()), name="token"),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.machine_view(views.IntrospectView.as_view()), name="introspect"),
    path("jwks/", views.jwks, name="jwks-info"),
    path("userinfo/", views.UserInfoView.as_view(), name="user-info"),
    path("logout/", dot_views.RPInitiatedLogoutView.as_view(), name="rp-initiated-logout"),
    path(
        "device-authorization/",
        dot_views.DeviceAuthorizationView.as_view(),
        name="device-authorization",
    ),
    path(
        "device-confirm/<slug:client_id>/<slug:user_code>",
        views.DeviceConfirmView.as_view(),
        name="device-confirm",
    ),
    path(
        "device-grant-status/<slug:client_id>/<slug:user_code>",
        dot_views.DeviceGrantStatusView.as_view(),
        name="device-grant-status",
    ),
]

wellknown_urlpatterns = [
    path("openid-configuration", views.openid_configuration, name="openid-configuration"),
    path("oauth-authorization-server", views.oauth_metadata, name="oauth-server-metadata"),
]
