from django.contrib import admin
from django.urls import include, path

from core import views as core_views

admin.site.site_header = "Pilot Ops"
admin.site.site_title = "Pilot Ops"
admin.site.index_title = "Back office"

urlpatterns = [
    path("health/", core_views.health, name="health"),
    path("health/ready/", core_views.ready, name="health-ready"),
    path("health/status/", core_views.status, name="health-status"),
    path("metrics", core_views.metrics, name="prometheus-django-metrics"),
    path("admin/", admin.site.urls),
    path("", include("pilots.urls")),
    path("", include("support.urls")),
]

handler404 = "core.views.not_found"
