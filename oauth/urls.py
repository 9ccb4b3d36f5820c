"""OAuth 2 / OIDC endpoints under /o/, and the discovery documents under /.well-known/."""

from django.urls import path
from oauth2_provider import views as dot_views

from oauth.endpoints import (
    authorization,
    introspection,
    machine_view,
    metadata,
    par,
    token,
    userinfo,
)

app_name = "oauth2_provider"  # DOT's views reverse URLs in this namespace

urlpatterns = [
    path("authorize/", authorization.AuthorizationView.as_view(), name="authorize"),
    path("par/", machine_view(par.PushedAuthorizationView.as_view()), name="par"),
    path("token/", machine_view(token.TokenView.as_view()), name="token"),
    path("revoke_token/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", machine_view(introspection.IntrospectView.as_view()), name="introspect"),
    path("jwks/", metadata.jwks, name="jwks-info"),
    path("userinfo/", userinfo.UserInfoView.as_view(), name="user-info"),
    path("logout/", dot_views.RPInitiatedLogoutView.as_view(), name="rp-initiated-logout"),
    path(
        "device-authorization/",
        dot_views.DeviceAuthorizationView.as_view(),
        name="device-authorization",
    ),
    path(
        "device-confirm/<slug:client_id>/<slug:user_code>",
        authorization.DeviceConfirmView.as_view(),
        name="device-confirm",
    ),
    path(
        "device-grant-status/<slug:client_id>/<slug:user_code>",
        dot_views.DeviceGrantStatusView.as_view(),
        name="device-grant-status",
    ),
]

wellknown_urlpatterns = [
    path("openid-configuration", metadata.openid_configuration, name="openid-configuration"),
    path("oauth-authorization-server", metadata.oauth_metadata, name="oauth-server-metadata"),
]
