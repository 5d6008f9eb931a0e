from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from core import staff_views
from core import views as core_views
from core.security import StaffLoginForm
from support import pilot_setup

admin.site.site_header = "Pilot Ops"
admin.site.site_title = "Pilot Ops"
admin.site.index_title = _("Back office")
admin.site.login_form = StaffLoginForm

urlpatterns = [
    path("health/", core_views.health, name="health"),
    path("health/ready/", core_views.ready, name="health-ready"),
    path("health/status/", core_views.status, name="health-status"),
    path("metrics", core_views.metrics, name="prometheus-django-metrics"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("admin/second-factor/", staff_views.second_factor, name="second-factor"),
    path("admin/language/", staff_views.staff_language, name="staff-language"),
    path("admin/setup/pilot/", include(pilot_setup.urlpatterns_for(admin.site.admin_view))),
    path("admin/", admin.site.urls),
    path("", include("pilots.urls")),
    path("", include("support.urls")),
    path("", include("privacy.urls")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
