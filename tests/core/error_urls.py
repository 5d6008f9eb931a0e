"""Addresses that fail on purpose, for the error page tests (the project's own handlers)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import include, path


def broken(request):
    raise RuntimeError("a bug with a SECRET-DETAIL in it")


def forbidden(request):
    raise PermissionDenied("SECRET-DETAIL")


def suspicious(request):
    raise SuspiciousOperation("SECRET-DETAIL")


urlpatterns = [
    path("broken/", broken),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    path("", include("config.urls")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
