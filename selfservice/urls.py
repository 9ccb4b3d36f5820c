from django.urls import path

from selfservice import views

app_name = "selfservice"

urlpatterns = [
    path("password/forgot/", views.forgot, name="forgot"),
    path("password/reset/<str:token>", views.reset, name="reset"),
    path("email/verify/", views.verify_status, name="verify-status"),
    path("email/verify/<str:token>", views.verify, name="verify"),
    path("invitation/<str:token>", views.invitation, name="invitation"),
    path("welcome/", views.welcome, name="welcome"),
    path("register/", views.register, name="register"),
    path("email/change/<str:token>", views.email_change_confirm, name="email-change-confirm"),
]
