"""Health endpoints for load balancers and operators, and the site-wide error pages.

The error pages are what a hostile request sees: they read nothing from the
request but its path and language choice, and fall back to a plain text
answer if even rendering fails, so an error page can never become a 500.
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from core.access import operator_access_granted
from core.i18n import public_page_context, visitor_language
from core.maintenance import last_success_by_job
from core.selectors import readiness_checks

logger = logging.getLogger(__name__)

# The refusal every public form gives a client or a printed link that sent too much.
RATE_LIMITED_TITLE = gettext_lazy("Slow down a little")
RATE_LIMITED_MESSAGE = gettext_lazy(
    "Many answers have come from here in a short time. Please try again later."
)


@never_cache
@require_GET
def health(request):
    return JsonResponse({"status": "ok", "timestamp": timezone.now().isoformat()})


@never_cache
@require_GET
def ready(request):
    checks = readiness_checks()
    failing = [check.name for check in checks if not check.ok]
    status = 503 if failing else 200
    answer = {"status": "unavailable" if failing else "ok", "timestamp": timezone.now().isoformat()}
    if not operator_access_granted(request):
        return JsonResponse(answer, status=status)
    return JsonResponse(
        {
            **answer,
            "failing": failing,
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
            "last_successful_runs": {
                job: finished.isoformat() for job, finished in last_success_by_job().items()
            },
        },
        status=status,
    )


@never_cache
@require_GET
def metrics(request):
    """django-prometheus's export, behind the operator token in production."""
    if not operator_access_granted(request):
        response = JsonResponse({"error": "missing or wrong bearer token"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return ExportToDjangoView(request)


# ------------------------------------------------------------------------------
# Error pages
# ------------------------------------------------------------------------------
def _public_error(request, *, title: str, message: str, status: int):
    try:
        language = visitor_language(request)
        with translation.override(language):
            response = render(
                request,
                "public/state.html",
                {
                    "title": translation.gettext(title),
                    "message": translation.gettext(message),
                    **public_page_context(request, language),
                },
                status=status,
            )
            response["Content-Language"] = language
            return response
    except Exception:
        logger.exception("the %s page could not be rendered", status)
        return HttpResponse(
            f"{title}\n\n{message}\n", status=status, content_type="text/plain; charset=utf-8"
        )


def bad_request(request, exception=None):
    """400 for a request Django could not read (a bad charset, a suspicious header…)."""
    return _public_error(
        request,
        title=gettext_noop("Something in the request was not right"),
        message=gettext_noop("Go back, reload the page and try again."),
        status=400,
    )


def permission_denied(request, exception=None):
    return _public_error(
        request,
        title=gettext_noop("Not allowed"),
        message=gettext_noop("You do not have access to this page."),
        status=403,
    )


def not_found(request, exception=None):
    """404 for any unknown address, in the visitor's language."""
    return _public_error(
        request,
        title=gettext_noop("Page not found"),
        message=gettext_noop("There is nothing at this address."),
        status=404,
    )


def server_error(request):
    return _public_error(
        request,
        title=gettext_noop("Something went wrong on our side"),
        message=gettext_noop("Please try again in a little while."),
        status=500,
    )


def csrf_failure(request, reason=""):
    """A form sent without a valid CSRF token: usually a page left open too long."""
    return _public_error(
        request,
        title=gettext_noop("Please try again"),
        message=gettext_noop(
            "The form was open too long or cookies are blocked. Reload the page and send it again."
        ),
        status=403,
    )
