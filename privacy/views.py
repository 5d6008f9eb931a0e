"""The privacy page's self-service data requests, in Swedish and English.

Asking always gets the same page, whatever is held; the link sent to the
contact shows what is held (after a button press: it works once) and lets
the person ask for erasure from that same browser session.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from core.client import client_hash
from core.i18n import public_page_context, remember_language, visitor_language
from core.views import RATE_LIMITED_MESSAGE, RATE_LIMITED_TITLE
from privacy import links
from privacy.exports import holdings_html
from privacy.forms import SelfServiceRequestForm
from privacy.services import data_request_holdings


def _page(request, template: str, context: dict, *, language: str, status: int = 200):
    response = render(
        request, template, {**context, **public_page_context(request, language)}, status=status
    )
    response["Content-Language"] = language
    remember_language(request, response, language)
    return response


def _state(request, language: str, *, status: int, title, message) -> HttpResponse:
    return _page(
        request,
        "public/state.html",
        {"title": title, "message": message},
        language=language,
        status=status,
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest) -> HttpResponse:
    language = visitor_language(request)
    with translation.override(language):
        form = SelfServiceRequestForm(request.POST if request.method == "POST" else None)
        if request.method == "GET":
            return _page(request, "privacy/request_form.html", {"form": form}, language=language)
        if not form.is_valid():
            return _page(
                request, "privacy/request_form.html", {"form": form}, language=language, status=400
            )
        if not form.is_bot:
            try:
                links.data_request_ask(
                    contact=form.cleaned_data["contact"],
                    language=language,
                    client_hash=client_hash(request),
                )
            except links.DataRequestRefused as refused:
                response = _state(
                    request,
                    language,
                    status=429,
                    title=RATE_LIMITED_TITLE,
                    message=RATE_LIMITED_MESSAGE,
                )
                response["Retry-After"] = str(refused.retry_after_seconds)
                return response
        return _page(request, "privacy/request_sent.html", {}, language=language)


LINK_GONE_TITLE = _("This link no longer works")
LINK_GONE_MESSAGE = _(
    "Links work once and for a limited time. Ask again on the privacy page for a new one."
)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def request_link(request: HttpRequest, token: str) -> HttpResponse:
    language = visitor_language(request)
    with translation.override(language):
        linked = links.link_find(token)
        if linked is None:
            return _state(
                request, language, status=410, title=LINK_GONE_TITLE, message=LINK_GONE_MESSAGE
            )
        data_request = linked.data_request
        in_session = request.session.get(links.SESSION_KEY) == data_request.pk
        action = request.POST.get("action", "")
        if request.method == "GET" or action not in ("show", "erase"):
            if not linked.unused:
                return _state(
                    request, language, status=410, title=LINK_GONE_TITLE, message=LINK_GONE_MESSAGE
                )
            return _page(request, "privacy/request_open.html", {}, language=language)
        if action == "erase":
            if not (in_session and links.data_request_erasure_ask(data_request=data_request)):
                return _state(
                    request, language, status=410, title=LINK_GONE_TITLE, message=LINK_GONE_MESSAGE
                )
            return _page(request, "privacy/erasure_asked.html", {}, language=language)
        if not links.link_use(data_request=data_request):
            return _state(
                request, language, status=410, title=LINK_GONE_TITLE, message=LINK_GONE_MESSAGE
            )
        request.session[links.SESSION_KEY] = data_request.pk
        held = holdings_html(
            data_request_holdings(data_request=data_request), language=language, for_pdf=False
        )
        return _page(request, "privacy/request_held.html", {"held": held}, language=language)
