"""The public pages behind a printed code: the feedback form, its thanks page, the privacy note.

Every state a code can be in has its own page and status code; a refused or
invalid submission re-renders with the reason, never a 500.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.client import client_hash, device_cookie_set, device_hash
from core.flags import Tenant, flag_is_on
from core.i18n import public_page_context, remember_language, visitor_language
from core.money import format_money
from core.privacy import mask_contact
from pilots import intake, payments, selectors, stripe_events, stripe_gateway
from pilots.claims import claim_find, recipient_contact_verify
from pilots.features import SMS_REWARD_LINKS, business_tenant
from pilots.forms import FeedbackForm
from pilots.models import Feedback, QRCode, RewardRecipient
from pilots.selectors import Intake, IntakeState

THANKS_SALT = "pilots.feedback.thanks"
THANKS_MAX_AGE_SECONDS = 24 * 3600
NOT_STORED = 0  # what the thanks link carries when nothing was kept (honeypot)

STATE_PAGES: dict[str, tuple[int, str, str]] = {
    Intake.UNKNOWN_CODE: (
        404,
        _("We don't know this code"),
        _("Check that the whole address was typed, or scan the code on the table again."),
    ),
    Intake.REVOKED: (
        410,
        _("This code has been replaced"),
        _("Ask the staff for the new code. Thank you!"),
    ),
    Intake.MAINTENANCE: (
        503,
        _("Back soon"),
        _("Feedback is paused for maintenance. Please try again in a little while."),
    ),
    Intake.BUSINESS_PAUSED: (
        503,
        _("Feedback is paused here"),
        _("This place is not taking feedback right now. Please try again later."),
    ),
    Intake.BUSINESS_CLOSED: (
        410,
        _("No longer collecting feedback"),
        _("This place has stopped collecting feedback here. Thank you for your interest!"),
    ),
    Intake.PILOT_PAUSED: (
        503,
        _("Feedback is paused here"),
        _("Feedback here is paused for a while. Please try again later."),
    ),
    Intake.NOT_STARTED: (
        410,
        _("Not started yet"),
        _("Feedback here has not opened yet. Welcome back soon!"),
    ),
    Intake.ENDED: (
        410,
        _("This pilot has ended, thank you"),
        _("Thank you to everyone who shared what they thought."),
    ),
    Intake.FULL: (
        410,
        _("The pilot is full"),
        _("We have all the feedback we can take here for now. Thank you!"),
    ),
}


def _language(request: HttpRequest, qr_code: QRCode | None) -> str:
    return visitor_language(request, default=qr_code.business.language if qr_code else "sv")


def _page(request, template: str, context: dict, *, language: str, status: int = 200):
    context = {**context, **public_page_context(request, language)}
    response = render(request, template, context, status=status)
    response["Content-Language"] = language
    remember_language(request, response, language)
    return response


def _state_page(
    request, *, reason: str, qr_code, language: str, retry_after: int | None = None, note=""
):
    status, title, message = STATE_PAGES[reason]
    response = _page(
        request,
        "public/state.html",
        {"title": title, "message": message, "note": note, "qr_code": qr_code},
        language=language,
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _closed(request, state: IntakeState, language: str) -> HttpResponse:
    return _state_page(
        request,
        reason=state.intake,
        qr_code=state.qr_code,
        language=language,
        retry_after=state.retry_after_seconds,
        note=state.message,
    )


# Refusals the customer can wait out or fix: the form comes back with what they typed.
KEEPS_THE_FORM: dict[str, tuple[int, str]] = {
    intake.RATE_LIMITED: (
        429,
        _(
            "Many answers have come from here in a short time. Your text is kept below: "
            "please send it again in %(minutes)s minutes."
        ),
    ),
    intake.DUPLICATE: (
        409,
        _(
            "You sent this from this phone a moment ago, and we have it. If you meant to "
            "add something, change the text and send it again."
        ),
    ),
}


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def feedback_form(request: HttpRequest, token: str) -> HttpResponse:
    response = _feedback_form(request, token)
    device_cookie_set(request, response)
    return response


def _feedback_form(request: HttpRequest, token: str) -> HttpResponse:
    facts = selectors.intake_facts_by_token(token)
    qr_code = facts.qr_code
    language = _language(request, qr_code)
    with translation.override(language):
        state = selectors.intake_decide(facts)
        if not state.is_open:
            return _closed(request, state, language)
        visitor = client_hash(request)
        tenant = business_tenant(state.qr_code.business)
        phone_allowed = flag_is_on(SMS_REWARD_LINKS, tenant=tenant)
        if request.method == "GET":
            # Each phone is one scan: two friends on the café's Wi-Fi are two.
            intake.scan_record(state=state, client_hash=device_hash(request))
            form = FeedbackForm(phone_allowed=phone_allowed)
            return _form_page(request, state, form, language, tenant=tenant)

        form = FeedbackForm(request.POST, phone_allowed=phone_allowed)
        if not form.is_valid():
            return _form_page(request, state, form, language, tenant=tenant, status=400)
        if form.is_bot:
            return _to_thanks(token, NOT_STORED, language)
        contact = form.cleaned_data["contact"]
        try:
            feedback = intake.feedback_submit(
                qr_code=state.qr_code,
                client_hash=visitor,
                device_hash=device_hash(request),
                submission_key=form.cleaned_data["submission_key"],
                rating=form.cleaned_data["rating"],
                categories=form.cleaned_data["categories"],
                comment=form.cleaned_data["comment"],
                language=language,
                contact_email=contact.email,
                contact_phone=contact.phone,
                consent=form.cleaned_data["consent"],
            )
        except intake.FeedbackRefused as refused:
            if refused.reason in KEEPS_THE_FORM:
                status, message = KEEPS_THE_FORM[refused.reason]
                minutes = max(1, -(-(refused.retry_after_seconds or 60) // 60))
                response = _form_page(
                    request,
                    state,
                    form,
                    language,
                    tenant=tenant,
                    status=status,
                    refusal=message % {"minutes": minutes},
                )
                if refused.retry_after_seconds:
                    response["Retry-After"] = str(refused.retry_after_seconds)
                return response
            return _state_page(
                request,
                reason=refused.reason,
                qr_code=qr_code,
                language=language,
                retry_after=refused.retry_after_seconds,
            )
        return _to_thanks(token, feedback.pk, language)


def _form_page(
    request,
    state: IntakeState,
    form,
    language: str,
    *,
    tenant: Tenant,
    status: int = 200,
    refusal: str = "",
):
    pilot = state.pilot
    return _page(
        request,
        "pilots/feedback_form.html",
        {
            "form": form,
            "submission_key": form.submission_key_for_page(),
            "refusal": refusal,
            "business": state.qr_code.business,
            "tenant": tenant,
            "reward": format_money(pilot.reward_amount, pilot.reward_currency)
            if pilot and pilot.reward_amount
            else "",
        },
        language=language,
        status=status,
    )


def _to_thanks(token: str, feedback_id: int, language: str) -> HttpResponse:
    """To the thanks page; the same feedback always gets the same address."""
    receipt = signing.Signer(salt=THANKS_SALT).sign_object(feedback_id)
    url = reverse("pilots:feedback-thanks", args=[token])
    return redirect(f"{url}?{urlencode({'r': receipt, 'lang': language})}")


@never_cache
@require_GET
def feedback_thanks(request: HttpRequest, token: str) -> HttpResponse:
    qr_code = selectors.qr_code_by_token(token)
    if qr_code is None:
        raise Http404
    language = _language(request, qr_code)
    try:
        feedback_id = signing.Signer(salt=THANKS_SALT).unsign_object(request.GET.get("r", ""))
    except (signing.BadSignature, ValueError):
        return redirect("pilots:feedback-form", token=token)
    if not isinstance(feedback_id, int) or isinstance(feedback_id, bool):
        return redirect("pilots:feedback-form", token=token)
    # The receipt is good for a day after the feedback it names was sent.
    feedback = (
        Feedback.objects.select_related("pilot", "payment__recipient")
        .filter(
            pk=feedback_id,
            qr_code=qr_code,
            submitted_at__gte=timezone.now() - timedelta(seconds=THANKS_MAX_AGE_SECONDS),
        )
        .first()
    )
    if feedback is None and feedback_id != NOT_STORED:
        return redirect("pilots:feedback-form", token=token)
    payment = getattr(feedback, "payment", None) if feedback else None
    pilot = feedback.pilot if feedback else None
    with translation.override(language):
        return _page(
            request,
            "pilots/feedback_thanks.html",
            {
                "business": qr_code.business,
                "feedback": feedback,
                "in_pilot": pilot is not None and pilot.reward_amount > 0,
                "payment": payment,
                # Only what the visitor typed, masked: nothing about the recipient behind it.
                "sent_to": mask_contact(email=feedback.contact_email, phone=feedback.contact_phone)
                if payment
                else "",
                "reward": format_money(pilot.reward_amount, pilot.reward_currency) if pilot else "",
            },
            language=language,
        )


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    language = visitor_language(request)
    with translation.override(language):
        return _page(
            request,
            "pilots/privacy.html",
            {"retention_days": settings.RETENTION_DAYS},
            language=language,
        )


# ------------------------------------------------------------------------------
# Claiming a reward
# ------------------------------------------------------------------------------
def _claim_page(request, language: str, status: int = 200, **context) -> HttpResponse:
    return _page(request, "pilots/reward_claim.html", context, language=language, status=status)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def reward_claim(request: HttpRequest, token: str) -> HttpResponse:
    """The link sent to the contact: proves it, then sends the customer to Stripe onboarding."""
    language = visitor_language(request)
    claim = claim_find(token)
    with translation.override(language):
        if claim is None:
            return _claim_page(request, language, status=410, expired=True)
        recipient = recipient_contact_verify(claim=claim)
        if request.method == "GET":
            return _claim_page(request, language)
        if not stripe_gateway.is_configured():
            return _claim_page(request, language, status=503, unavailable=True)
        here = request.build_absolute_uri(reverse("pilots:reward-claim", args=[token]))
        back = request.build_absolute_uri(reverse("pilots:reward-claimed", args=[token]))
        try:
            onboarding_url = payments.recipient_claim_start(
                recipient=recipient, refresh_url=here, return_url=back
            )
        except (stripe_gateway.TransientStripeError, stripe_gateway.PermanentStripeError):
            return _claim_page(request, language, status=503, unavailable=True)
        return redirect(onboarding_url)


@never_cache
@require_GET
def reward_claimed(request: HttpRequest, token: str) -> HttpResponse:
    """Where Stripe sends the customer back after onboarding."""
    language = visitor_language(request)
    claim = claim_find(token)
    if claim is None:
        raise Http404
    with translation.override(language):
        return _page(
            request,
            "pilots/reward_claimed.html",
            {"payable": claim.recipient.onboarding == RewardRecipient.Onboarding.PAYABLE},
            language=language,
        )


# ------------------------------------------------------------------------------
# Stripe webhooks
# ------------------------------------------------------------------------------
@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Signature-checked, stored once, applied once; 500 only when applying failed."""
    try:
        event = stripe_gateway.webhook_event_verified(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except stripe_gateway.SignatureError:
        return JsonResponse({"error": "invalid signature"}, status=400)
    except stripe_gateway.MalformedEvent as error:
        return JsonResponse({"error": f"not a well-formed Stripe event: {error}"}, status=400)
    try:
        stripe_events.stripe_event_receive(event=event)
    except stripe_events.StripeEventFailed:
        return JsonResponse({"error": "processing failed; please retry"}, status=500)
    return JsonResponse({"received": True})
