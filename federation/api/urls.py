"""``/api/v1/identity-providers/``: upstream identity providers in the management API."""

from django.urls import path

from federation.api import views

app_name = "federation-api"

urlpatterns = [
    path("", views.ProvidersApi.as_view(), name="providers"),
    path("<slug:slug>/", views.ProviderApi.as_view(), name="provider"),
]
