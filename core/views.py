"""Health endpoints for load balancers and operators, and the site-wide error pages."""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.i18n import public_page_context, visitor_language
from core.maintenance import last_success_by_job
from core.selectors import readiness_checks


@never_cache
@require_GET
def health(request):
    return JsonResponse({"status": "ok", "timestamp": timezone.now().isoformat()})


@never_cache
@require_GET
def ready(request):
    checks = readiness_checks()
    failing = [check.name for check in checks if not check.ok]
    return JsonResponse(
        {
            "status": "unavailable" if failing else "ok",
            "timestamp": timezone.now().isoformat(),
            "failing": failing,
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
            "last_successful_runs": {
                job: finished.isoformat() for job, finished in last_success_by_job().items()
            },
        },
        status=503 if failing else 200,
    )


def _public_error(request, *, title: str, message: str, status: int):
    language = visitor_language(request)
    with translation.override(language):
        return render(
            request,
            "public/state.html",
            {
                "title": translation.gettext(title),
                "message": translation.gettext(message),
                **public_page_context(request, language),
            },
            status=status,
        )


def not_found(request, exception=None):
    """404 for any unknown address, in the visitor's language."""
    return _public_error(
        request,
        title=gettext_noop("Page not found"),
        message=gettext_noop("There is nothing at this address."),
        status=404,
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
