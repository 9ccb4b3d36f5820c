from django.urls import path

from console.views import abuse, audit, clients, dashboard, roles, tokens, users

app_name = "console"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("users/", users.user_list, name="user-list"),
    path("users/new/", users.user_create, name="user-create"),
    path("users/<int:pk>/", users.user_detail, name="user-detail"),
    path("users/<int:pk>/roles/", users.user_roles, name="user-roles"),
    path("users/<int:pk>/active/", users.user_active, name="user-active"),
    path("users/<int:pk>/password/", users.user_password, name="user-password"),
    path("roles/", roles.role_list, name="role-list"),
    path("roles/new/", roles.role_create, name="role-create"),
    path("roles/<int:pk>/", roles.role_detail, name="role-detail"),
    path("roles/<int:pk>/edit/", roles.role_edit, name="role-edit"),
    path("roles/<int:pk>/delete/", roles.role_delete, name="role-delete"),
    path("clients/", clients.client_list, name="client-list"),
    path("clients/new/", clients.client_create, name="client-create"),
    path("clients/<int:pk>/", clients.client_detail, name="client-detail"),
    path("clients/<int:pk>/edit/", clients.client_edit, name="client-edit"),
    path("clients/<int:pk>/rotate-secret/", clients.client_rotate, name="client-rotate"),
    path("tokens/", tokens.token_list, name="token-list"),
    path("tokens/sessions/<uuid:family>/revoke/", tokens.session_revoke, name="session-revoke"),
    path("tokens/access/<int:pk>/revoke/", tokens.access_token_revoke, name="token-revoke"),
    path("audit/", audit.audit_list, name="audit-list"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
    path("blocked-ips/", abuse.blocked_ip_list, name="blocked-ip-list"),
    path("blocked-ips/new/", abuse.blocked_ip_create, name="blocked-ip-create"),
    path("blocked-ips/<int:pk>/unblock/", abuse.blocked_ip_unblock, name="blocked-ip-unblock"),
]
