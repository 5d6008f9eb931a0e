"""Public support endpoints: the café staff link, and the Alertmanager receiver."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import bearer_token_matches
from core.client import client_hash
from core.i18n import public_page_context, visitor_language
from core.json_input import JsonInputError, json_loads_bounded
from core.logging import redact_contact_data
from core.ratelimit import Rate, rate_limit_hit
from core.request_limits import WEBHOOK
from core.views import RATE_LIMITED_MESSAGE, RATE_LIMITED_TITLE
from support import ack_links, acknowledgements, incidents, selectors, services
from support.cards import staff_card_html
from support.forms import StaffReportForm
from support.models import StaffLink


def _slow_down(request, context: dict, message: str, retry_after_seconds: int) -> HttpResponse:
    """429 on the public page's own design, saying when to try again."""
    response = render(
        request,
        "public/state.html",
        {**context, "title": RATE_LIMITED_TITLE, "message": message},
        status=429,
    )
    response["Retry-After"] = str(retry_after_seconds)
    return response


def _replaced(request, context: dict) -> HttpResponse:
    return render(
        request,
        "public/state.html",
        {
            **context,
            "title": _("This staff link has been replaced"),
            "message": _("Ask your manager for the new staff card."),
        },
        status=410,
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def staff_link(request: HttpRequest, token: str) -> HttpResponse:
    link = get_object_or_404(StaffLink.objects.select_related("business"), token=token)
    language = visitor_language(request, default=link.business.language)
    with translation.override(language):
        context = public_page_context(request, language)
        if link.status == StaffLink.Status.REVOKED:
            return _replaced(request, context)
        form = StaffReportForm(request.POST, request.FILES) if request.method == "POST" else None
        status, refusal, retry_after = 200, "", None
        if form is not None:
            status = 400
            if form.is_valid():
                if form.is_bot:
                    return redirect(request.path)
                try:
                    ticket = services.staff_report(
                        link=link,
                        client_hash=client_hash(request),
                        category=form.cleaned_data["category"],
                        description=form.cleaned_data["description"],
                        reporter=form.cleaned_data["reporter"],
                        photo=form.cleaned_data["photo"],
                    )
                except services.StaffReportRefused as refused:
                    # What they wrote stays in the form; they send it again later.
                    status, refusal = 429, (RATE_LIMITED_TITLE, RATE_LIMITED_MESSAGE)
                    retry_after = refused.retry_after_seconds
                else:
                    return redirect(f"{request.path}?{urlencode({'reported': ticket.reference})}")
        business = link.business
        response = render(
            request,
            "support/staff_link.html",
            {
                **context,
                "business": business,
                "business_timezone": business.timezone,
                "form": form or StaffReportForm(),
                "reported": request.GET.get("reported", ""),
                "reports": selectors.staff_page_reports(business),
                "notices": selectors.cafe_incident_notices(business),
                "refusal": refusal,
            },
            status=status,
        )
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response


@never_cache
@require_GET
def staff_card(request: HttpRequest, token: str) -> HttpResponse:
    """The café's staff card, ready to print (the staff page's *Print card* button)."""
    link = get_object_or_404(StaffLink.objects.select_related("business"), token=token)
    language = visitor_language(request, default=link.business.language)
    with translation.override(language):
        if link.status == StaffLink.Status.REVOKED:
            return _replaced(request, public_page_context(request, language))
        return HttpResponse(staff_card_html(link))


# ------------------------------------------------------------------------------
# Alertmanager
# ------------------------------------------------------------------------------
@csrf_exempt
@require_POST
def alertmanager_webhook(request: HttpRequest) -> HttpResponse:
    """Bearer-token protected receiver for Alertmanager's webhook (version 4)."""
    if not bearer_token_matches(request, settings.ALERTMANAGER_TOKEN):
        return JsonResponse({"error": "missing or wrong bearer token"}, status=401)
    try:
        alerts = incidents.alerts_parse(
            json_loads_bounded(request.body, max_bytes=WEBHOOK.max_bytes)
        )
    except (JsonInputError, incidents.AlertPayloadError) as error:
        return JsonResponse({"error": f"not an Alertmanager payload: {error}"}, status=400)
    touched = []
    for alert in alerts:
        incident = incidents.alert_receive(alert)
        incidents.feature_alert_receive(alert, incident)
        touched.append(incident)
    return JsonResponse(
        {"incidents": sorted({incident.reference for incident in touched if incident})}
    )


# ------------------------------------------------------------------------------
# Acknowledging a page
# ------------------------------------------------------------------------------
REFUSED_LINKS = {
    ack_links.TAMPERED: (
        404,
        _("This link is not valid"),
        _("It may have been cut short or changed. Open the ticket or incident in the admin."),
    ),
    ack_links.EXPIRED: (
        410,
        _("This link has expired"),
        _("Acknowledgement links work for a limited time. Open it in the admin instead."),
    ),
    ack_links.USED: (
        410,
        _("This link has already been used"),
        _("Each acknowledgement link works once. Open it in the admin to see who is on it."),
    ),
}


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def page_acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a page: GET shows what it acknowledges, the button (POST) acknowledges."""
    language = visitor_language(request)
    with translation.override(language):
        context = public_page_context(request, language)
        verdict = rate_limit_hit(
            scope="page-acknowledge",
            key=client_hash(request),
            rate=Rate.parse(settings.ACK_LINK_RATE),
        )
        if not verdict.allowed:
            return _slow_down(
                request,
                context,
                _("Many requests came from here. Please try again later."),
                verdict.retry_after_seconds,
            )
        if request.method == "POST":
            link = acknowledgements.page_acknowledge(token=token)
        else:
            link = ack_links.ack_link_read(token)
        if link.state in REFUSED_LINKS:
            status, title, message = REFUSED_LINKS[link.state]
            return render(
                request,
                "public/state.html",
                {**context, "title": title, "message": message},
                status=status,
            )
        escalation = link.page.escalation
        subject = escalation.ticket or escalation.incident
        return render(
            request,
            "support/acknowledge.html",
            {
                **context,
                "page": link.page,
                "subject": subject,
                "level": escalation.ticket.priority if escalation.ticket else subject.severity,
                "title": redact_contact_data(subject.title),
                "escalation": escalation,
                "done": request.method == "POST",
            },
        )
