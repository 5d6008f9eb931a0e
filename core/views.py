"""Health endpoints for load balancers and operators, and the site-wide error pages.

The error pages are what a hostile request sees: they read nothing from the
request but its path and language choice, and fall back to a plain text
answer if even rendering fails, so an error page can never become a 500.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.access import operator_access_granted
from core.i18n import public_page_context, visitor_language
from core.metrics import metrics_export
from core.selectors import operations_status, readiness_checks

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


def _checks(checks) -> dict:
    return {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}


@never_cache
@require_GET
def ready(request):
    """What this web process needs to serve: database, cache, broker. Never beat or workers."""
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
            "checks": _checks(checks),
        },
        status=status,
    )


def _token_required() -> JsonResponse:
    response = JsonResponse({"error": "missing or wrong bearer token"}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="pilotops"'
    return response


@never_cache
@require_GET
def metrics(request: HttpRequest):
    """Prometheus: every gunicorn worker's counters summed, and the business gauges.

    Behind the operator token in production (the figures name cafés).
    """
    if not operator_access_granted(request):
        return _token_required()
    body, content_type = metrics_export(settings.PROMETHEUS_MULTIPROC_DIR)
    return HttpResponse(body, content_type=content_type)


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


@never_cache
@require_GET
def status(request: HttpRequest):
    """The whole picture for operators; a bearer token (METRICS_TOKEN) in production.

    Always 200 when answered: ``stale`` names what needs a person, and the
    alert rules page on the same facts through /metrics.
    """
    if not operator_access_granted(request):
        return _token_required()
    now = timezone.now()
    picture = operations_status(now=now)
    scheduler = picture.scheduler
    return JsonResponse(
        {
            "status": "attention" if picture.stale else "ok",
            "timestamp": now.isoformat(),
            "stale": picture.stale,
            "checks": _checks(picture.checks),
            "scheduler": {
                "last_heartbeat_at": _iso(scheduler.last_seen_at),
                "age_seconds": None
                if scheduler.age_seconds is None
                else round(scheduler.age_seconds),
                "max_age_seconds": settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS,
                "stale": scheduler.stale,
            },
            "workers": {
                "alive": len(picture.workers),
                "hosts": [
                    {
                        "hostname": worker.hostname,
                        "started_at": _iso(worker.started_at),
                        "last_heartbeat_at": _iso(worker.last_seen_at),
                    }
                    for worker in picture.workers
                ],
            },
            "queues": picture.queues,
            "dead_letters": picture.dead_letters,
            "last_success_by_job": {
                job: _iso(finished) for job, finished in sorted(picture.last_success_by_job.items())
            },
            **{name: part and part.detail for name, part in picture.parts.items()},
        }
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them to the static one."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


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
