from django.urls import path

from selfservice import views

app_name = "selfservice"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("password/", views.password, name="password"),
    path("sessions/", views.sessions_page, name="sessions"),
    path("sessions/elsewhere/end/", views.sign_out_elsewhere, name="sign-out-elsewhere"),
    path("sessions/<uuid:session_id>/end/", views.session_end, name="session-end"),
    path("sessions/apps/<uuid:family>/end/", views.app_session_end, name="app-session-end"),
    path("applications/", views.applications, name="applications"),
    path(
        "applications/<int:client_pk>/revoke/",
        views.application_revoke,
        name="application-revoke",
    ),
    path("events/", views.security_events, name="events"),
]
