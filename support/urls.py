from django.urls import path, re_path

from support import views

app_name = "support"

urlpatterns = [
    re_path(r"^staff/(?P<token>[a-z2-7]{16,64})/$", views.staff_link, name="staff-link"),
    re_path(r"^staff/(?P<token>[a-z2-7]{16,64})/card/$", views.staff_card, name="staff-card"),
    path("webhooks/alertmanager/", views.alertmanager_webhook, name="alertmanager-webhook"),
    path("ack/<str:token>/", views.page_acknowledge, name="page-acknowledge"),
]
