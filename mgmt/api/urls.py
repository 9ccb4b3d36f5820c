"""/api/: the management REST API, version 1, its OpenAPI schema and docs.

Anything else under /api/ (unknown paths, other versions) is a problem-details 404.
"""

from __future__ import annotations

from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from mgmt.api import errors
from mgmt.api.views import (
    abuse,
    apikeys,
    apis,
    audit,
    clients,
    groups,
    invitations,
    roles,
    tokens,
    users,
)


class IdConverter:
    """A database id: digits, short enough that no backend overflows on it."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

app_name = "api"

user_urlpatterns = [
    path("", users.UserDetailApi.as_view(), name="user"),
    path("disable/", users.UserActiveApi.as_view(active=False), name="user-disable"),
    path("enable/", users.UserActiveApi.as_view(active=True), name="user-enable"),
    path("password/", users.UserPasswordApi.as_view(), name="user-password"),
    path("roles/", roles.UserRolesApi.as_view(), name="user-roles"),
    path("roles/<str:role>/", roles.UserRoleApi.as_view(), name="user-role"),
    path("tokens/", tokens.UserTokensApi.as_view(), name="user-tokens"),
    path("tokens/<id:token_id>/", tokens.UserTokenApi.as_view(), name="user-token"),
    path("sessions/", tokens.UserSessionsApi.as_view(), name="user-sessions"),
    path("sessions/<uuid:session_id>/", tokens.UserSessionApi.as_view(), name="user-session"),
    path("api-keys/", apikeys.UserApiKeysApi.as_view(), name="user-api-keys"),
    path("api-keys/<str:key_id>/", apikeys.UserApiKeyApi.as_view(), name="user-api-key"),
]

client_urlpatterns = [
    path("", clients.ClientDetailApi.as_view(), name="client"),
    path("secret/", clients.ClientSecretApi.as_view(), name="client-secret"),
    path("roles/", roles.ClientRolesApi.as_view(), name="client-roles"),
    path("roles/<str:role>/", roles.ClientRoleApi.as_view(), name="client-role"),
    path("api-keys/", apikeys.ClientApiKeysApi.as_view(), name="client-api-keys"),
    path("api-keys/<str:key_id>/", apikeys.ClientApiKeyApi.as_view(), name="client-api-key"),
    path("tokens/", tokens.ClientTokensApi.as_view(), name="client-tokens"),
    path("tokens/<str:jti>/", tokens.ClientTokenApi.as_view(), name="client-token"),
]

v1_urlpatterns = [
    path("users/", users.UsersApi.as_view(), name="users"),
    path("users/<str:username>/", include(user_urlpatterns)),
    path("roles/", roles.RolesApi.as_view(), name="roles"),
    path("roles/<str:name>/", roles.RoleDetailApi.as_view(), name="role"),
    path("groups/", groups.GroupsApi.as_view(), name="groups"),
    path("groups/<str:name>/", groups.GroupDetailApi.as_view(), name="group"),
    path("groups/<str:name>/members/", groups.GroupMembersApi.as_view(), name="group-members"),
    path(
        "groups/<str:name>/members/<str:username>/",
        groups.GroupMemberApi.as_view(),
        name="group-member",
    ),
    path("clients/", clients.ClientsApi.as_view(), name="clients"),
    path("clients/<str:client_id>/", include(client_urlpatterns)),
    path("apis/", apis.ApisApi.as_view(), name="apis"),
    path("apis/<id:api_id>/", apis.ApiDetailApi.as_view(), name="api"),
    path("audit-events/", audit.AuditEventsApi.as_view(), name="audit-events"),
    path("audit-events/<id:event_id>/", audit.AuditEventApi.as_view(), name="audit-event"),
    path("invitations/", invitations.InvitationsApi.as_view(), name="invitations"),
    path(
        "invitations/<id:invitation_id>/",
        invitations.InvitationApi.as_view(),
        name="invitation",
    ),
    path(
        "invitations/<id:invitation_id>/resend/",
        invitations.InvitationResendApi.as_view(),
        name="invitation-resend",
    ),
    path("ip-blocks/", abuse.IpBlocksApi.as_view(), name="ip-blocks"),
    path("ip-blocks/<id:block_id>/", abuse.IpBlockApi.as_view(), name="ip-block"),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema",
            template_name="mgmt/swagger_ui.html",
            authentication_classes=[],
            permission_classes=[AllowAny],
        ),
        name="docs",
    ),
]

urlpatterns = [
    path("v1/", include(v1_urlpatterns)),
    re_path(r"", errors.not_found),
]
