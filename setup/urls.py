from django.urls import path

from setup import views

app_name = "setup"

urlpatterns = [path("<str:token>", views.setup_link, name="link")]
