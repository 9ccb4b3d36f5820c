"""``/accounts/login/<slug>/`` (start, callback, logged-out) and ``/account/providers/``."""

from django.urls import path

from federation import views

app_name = "federation"

urlpatterns = [
    path("accounts/login/<slug:slug>/", views.start, name="start"),
    path("accounts/login/<slug:slug>/callback/", views.callback, name="callback"),
    path("accounts/login/<slug:slug>/logged-out/", views.logged_out, name="logged-out"),
    path("account/providers/", views.account, name="account"),
    path("account/providers/<slug:slug>/link/", views.account_link, name="link"),
    path("account/providers/<slug:slug>/unlink/", views.account_unlink, name="unlink"),
]
