from django.urls import re_path

from support import views

app_name = "support"

urlpatterns = [
    re_path(r"^staff/(?P<token>[a-z2-7]{16,64})/$", views.staff_link, name="staff-link"),
]
