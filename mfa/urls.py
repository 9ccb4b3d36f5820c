from django.urls import path

from mfa import views

app_name = "mfa"

urlpatterns = [
    path("", views.ManageView.as_view(), name="manage"),
    path("authenticate/", views.AuthenticateView.as_view(), name="authenticate"),
    path("totp/setup/", views.TotpSetupView.as_view(), name="totp-setup"),
    path("recovery-codes/", views.RecoveryCodesView.as_view(), name="recovery-codes"),
    path(
        "passkeys/register/begin/",
        views.PasskeyView.as_view(step="register-begin"),
        name="passkey-register-begin",
    ),
    path(
        "passkeys/register/finish/",
        views.PasskeyView.as_view(step="register-finish"),
        name="passkey-register-finish",
    ),
    path(
        "passkeys/authenticate/begin/",
        views.PasskeyView.as_view(step="authenticate-begin"),
        name="passkey-authenticate-begin",
    ),
    path(
        "passkeys/authenticate/finish/",
        views.PasskeyView.as_view(step="authenticate-finish"),
        name="passkey-authenticate-finish",
    ),
]
