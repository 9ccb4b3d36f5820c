from django.urls import path

from selfservice import link_views, views

app_name = "selfservice"

urlpatterns = [
    # the account page of a signed-in user
    path("account/", views.profile, name="profile"),
    path("account/password/", views.password, name="password"),
    path("account/sessions/", views.sessions_page, name="sessions"),
    path("account/sessions/elsewhere/end/", views.sign_out_elsewhere, name="sign-out-elsewhere"),
    path("account/sessions/<uuid:session_id>/end/", views.session_end, name="session-end"),
    path("account/sessions/apps/<uuid:family>/end/", views.app_session_end, name="app-session-end"),
    path("account/applications/", views.applications, name="applications"),
    path(
        "account/applications/<int:client_pk>/revoke/",
        views.application_revoke,
        name="application-revoke",
    ),
    path("account/events/", views.security_events, name="events"),
    # the pages behind the links sent by mail
    path("password/forgot/", link_views.forgot, name="forgot"),
    path("password/reset/<str:token>", link_views.reset, name="reset"),
    path("email/verify/", link_views.verify_status, name="verify-status"),
    path("email/verify/<str:token>", link_views.verify, name="verify"),
    path("invitation/<str:token>", link_views.invitation, name="invitation"),
    path("welcome/", link_views.welcome, name="welcome"),
    path("register/", link_views.register, name="register"),
    path("email/change/<str:token>", link_views.email_change_confirm, name="email-change-confirm"),
]
