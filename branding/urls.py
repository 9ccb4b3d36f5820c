from django.urls import path

from branding import views

app_name = "branding"

urlpatterns = [path("theme.css", views.theme_css, name="theme")]
