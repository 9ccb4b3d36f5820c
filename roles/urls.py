"""AuthZEN Authorization API 1.0 endpoints, mounted at /access/v1/."""

from django.urls import path

from roles import views

app_name = "authzen"

urlpatterns = [
    path("evaluation", views.evaluation, name="evaluation"),
    path("evaluations", views.evaluations, name="evaluations"),
]
