from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/request/", views.request_form, name="request-form"),
    path("privacy/request/<str:token>/", views.request_link, name="request-link"),
]
