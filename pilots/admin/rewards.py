"""Admin for reward payments, recipients, payouts, Stripe events and the payout switch.

Every payment's state can be explained from here: its history events, its
payout and that payout's attempts. Support agents see it all and change none.
"""

import json
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin import (
    CappedCountPaginator,
    ContactDataAdminMixin,
    CsvExportMixin,
    EventInline,
    PageRelatedMixin,
    ReadOnlyInlineMixin,
    ServiceWrittenAdmin,
    SingletonAdmin,
    run_for_each,
)
from core.contacts import Contact, contact_normalise
from core.csv_export import kronor
from core.logging import redact_contact_data
from core.maintenance import job_enqueue
from core.money import format_money
from core.privacy import contact_hash, mask_contact
from pilots import payments, stripe_events
from pilots import payouts as payouts_service
from pilots.models import Payment, Payout, PayoutAttempt, PayoutSwitch, RewardRecipient, StripeEvent

# What asking Stripe settled, as the staff member reads it.
OUTCOME_LABELS = {
    payouts_service.PAID: _("paid"),
    payouts_service.UNKNOWN: _("unknown"),
    payouts_service.RETRY: _("retry"),
    payouts_service.ATTENTION: _("needs attention"),
    payouts_service.FAILED: _("failed"),
}

# What a typed mobile number looks like: digits with an optional +, spaces, dashes, brackets.
PHONE_LIKE = re.compile(r"\+?[\d\s()-]{7,30}")


def _amount(obj) -> str:
    return format_money(obj.amount, obj.currency)


class ManualPaymentForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"size": 60}),
        label=_("Reason"),
        help_text=_("Required: how it was paid (e.g. 'paid 10 kr by Swish on 3 March')."),
    )


@admin.register(Payment)
class PaymentAdmin(PageRelatedMixin, ContactDataAdminMixin, CsvExportMixin, ServiceWrittenAdmin):
    list_display = (
        "id",
        "created_at",
        "business",
        "pilot",
        "recipient_contact",
        "amount_shown",
        "status",
        "attempts",
        "hold_reason",
        "last_error",
    )
    list_filter = ("status", "pilot", "business", "created_at")
    page_related = ("business", "pilot", "recipient")
    search_fields = ("=id", "=feedback__id", "=stripe_transfer_id", "business__name")
    search_help_text = _(
        "A payment or feedback number, a Stripe transfer id, a business's name, or the "
        "customer's whole e-mail address or mobile number: it is matched by its keyed hash, "
        "so only that customer's payments are listed."
    )
    show_full_result_count = False
    paginator = CappedCountPaginator
    # Never the recipient's contact: exports leave the building.
    csv_columns = (
        ("id", _("payment")),
        ("created_at", _("created")),
        ("business__name", _("business")),
        ("pilot__name", _("pilot")),
        ("amount", _("amount")),
        ("currency", _("currency")),
        ("status", _("status")),
        ("attempts", _("attempts")),
        ("hold_reason", _("hold reason")),
        ("last_error", _("last error")),
        ("stripe_transfer_id", _("Stripe transfer")),
        ("paid_at", _("paid")),
    )
    csv_formats = {"amount": kronor}
    fields = (
        "feedback",
        "business",
        "pilot",
        "recipient",
        "amount_shown",
        "status",
        "hold_reason",
        "attempts",
        "last_error",
        "payout",
        "stripe_transfer_id",
        "idempotency_key",
        "paid_at",
        "manual_reason",
        "created_at",
    )
    readonly_fields = (*fields, "recipient_contact")
    inlines = (EventInline,)
    actions = ("ask_stripe", "retry", "hold", "release", "cancel", "mark_paid")

    def get_search_results(self, request, queryset, search_term):
        """A typed contact finds its recipient by hash and nothing else; anything else as usual."""
        contact = _typed_contact(search_term)
        if contact:
            return queryset.filter(recipient__contact_hash=contact_hash(contact.value)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("amount"))
    def amount_shown(self, payment: Payment) -> str:
        return _amount(payment)

    @admin.display(description=_("recipient"))
    def recipient_contact(self, payment: Payment) -> str:
        recipient = payment.recipient
        return mask_contact(email=recipient.contact_email, phone=recipient.contact_phone) or "—"

    def _each(self, request, queryset, service, done):
        run_for_each(request, queryset, service, keyword="payment", done=done)

    @admin.action(
        description=_("Ask Stripe now about the selected payments' payouts"),
        permissions=["change"],
    )
    def ask_stripe(self, request, queryset):
        _ask_stripe(request, {payment.payout for payment in queryset if payment.payout_id})

    @admin.action(description=_("Retry selected payments"), permissions=["change"])
    def retry(self, request, queryset):
        self._each(
            request,
            queryset,
            payments.payment_retry,
            lambda n: (
                ngettext(
                    "%(count)d payment queued for payout.",
                    "%(count)d payments queued for payout.",
                    n,
                )
                % {"count": n}
            ),
        )

    @admin.action(description=_("Hold selected payments for review"), permissions=["change"])
    def hold(self, request, queryset):
        self._each(
            request,
            queryset,
            payments.payment_hold,
            lambda n: (
                ngettext("%(count)d payment held.", "%(count)d payments held.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Release selected held payments"), permissions=["change"])
    def release(self, request, queryset):
        self._each(
            request,
            queryset,
            payments.payment_release,
            lambda n: (
                ngettext("%(count)d payment released.", "%(count)d payments released.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Cancel selected payments (never pay)"), permissions=["change"])
    def cancel(self, request, queryset):
        self._each(
            request,
            queryset,
            payments.payment_cancel,
            lambda n: (
                ngettext("%(count)d payment cancelled.", "%(count)d payments cancelled.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Mark selected payments paid by hand…"), permissions=["change"])
    def mark_paid(self, request, queryset):
        form = ManualPaymentForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            for payment in queryset:
                try:
                    payments.payment_mark_paid(payment=payment, reason=reason, actor=request.user)
                except payments.PaymentError as error:
                    messages.error(request, " ".join(error.messages))
                else:
                    messages.success(
                        request,
                        gettext("Payment %(payment)s marked paid by hand.")
                        % {"payment": payment.pk},
                    )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Mark payments paid by hand"),
            "form": form,
            "payments": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/pilots/payment/mark_paid.html", context)

    def get_urls(self):
        return [
            path(
                "run-payouts/",
                self.admin_site.admin_view(require_POST(self.run_payouts_view)),
                name="pilots_payment_run_payouts",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_run_payouts": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def run_payouts_view(self, request):
        """Queue a payout run for a worker and show its run record: the request never waits."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        run = job_enqueue("payout_run", requested_by=request.user)
        url = reverse("admin:core_maintenancerun_change", args=[run.pk])
        messages.success(
            request,
            format_html(
                '{} <a href="{}">{}</a> {}',
                gettext("Payout run queued:"),
                url,
                gettext("run %(number)s") % {"number": run.pk},
                gettext(
                    "shows its outcome when a worker has run it. Only one payout run works at a "
                    "time; beat also runs one every 5 minutes."
                ),
            ),
        )
        return HttpResponseRedirect(url)


def _typed_contact(term: str) -> Contact | None:
    """The e-mail address or mobile number ``term`` is, normalised as stored; None otherwise."""
    term = term.strip()
    if "@" not in term and not PHONE_LIKE.fullmatch(term):
        return None
    try:
        return contact_normalise(term)
    except ValidationError:
        return None


def _ask_stripe(request, payouts) -> None:
    """Settle each unsettled payout by asking Stripe; say what each answer was."""
    asked = [
        p for p in payouts if p.status in (Payout.Status.UNKNOWN, Payout.Status.NEEDS_ATTENTION)
    ]
    for payout in sorted(asked, key=lambda p: p.pk):
        outcome = payouts_service.payout_ask_stripe(payout=payout, actor=request.user)
        payout.refresh_from_db()
        messages.info(
            request,
            gettext("Payout %(payout)s: %(outcome)s; now %(status)s.")
            % {
                "payout": payout.pk,
                "outcome": OUTCOME_LABELS.get(outcome, outcome) or gettext("nothing to settle"),
                "status": payout.get_status_display().lower(),
            },
        )
    if not asked:
        messages.warning(
            request,
            gettext(
                "None of the selected payouts is unknown or needs attention: there is nothing to "
                "ask Stripe. Payouts being sent are settled by the run that sends them."
            ),
        )


@admin.register(RewardRecipient)
class RewardRecipientAdmin(ContactDataAdminMixin, ServiceWrittenAdmin):
    list_display = ("id", "contact", "onboarding", "stripe_account_id", "created_at")
    list_filter = ("onboarding",)
    search_fields = ("=id", "=stripe_account_id")
    fields = (
        "contact",
        "contact_verified_at",
        "onboarding",
        "stripe_account_id",
        "account_updated_at",
        "created_at",
    )
    readonly_fields = fields
    inlines = (EventInline,)

    @admin.display(description=_("contact"))
    def contact(self, recipient: RewardRecipient) -> str:
        return mask_contact(email=recipient.contact_email, phone=recipient.contact_phone) or "—"


class PayoutAttemptInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PayoutAttempt
    fields = ("number", "started_at", "finished_at", "outcome", "error", "stripe_transfer_id")
    readonly_fields = fields


class PaymentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Payment
    fields = ("id", "business", "amount", "status", "paid_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(Payout)
class PayoutAdmin(ContactDataAdminMixin, ServiceWrittenAdmin):
    list_display = (
        "id",
        "created_at",
        "recipient",
        "amount_shown",
        "status",
        "attempts",
        "next_attempt_at",
        "stripe_transfer_id",
    )
    list_filter = ("status",)
    list_select_related = ("recipient",)
    search_fields = ("=id", "=stripe_transfer_id")
    fields = (
        "recipient",
        "amount_shown",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "paid_at",
        "last_checked_at",
        "no_transfer_confirmed_at",
        "last_error",
        "stripe_transfer_id",
        "idempotency_key",
    )
    readonly_fields = fields
    inlines = (PayoutAttemptInline, PaymentInline, EventInline)
    actions = ("ask_stripe",)

    @admin.action(
        description=_("Ask Stripe now about the selected payouts"), permissions=["change"]
    )
    def ask_stripe(self, request, queryset):
        _ask_stripe(request, list(queryset))

    @admin.display(description=_("amount"))
    def amount_shown(self, payout: Payout) -> str:
        return _amount(payout)


@admin.register(StripeEvent)
class StripeEventAdmin(ContactDataAdminMixin, ServiceWrittenAdmin):
    list_display = ("stripe_id", "type", "received_at", "deliveries", "processed_at", "failed")
    list_filter = ("type",)
    search_fields = ("=stripe_id",)
    fields = (
        "stripe_id",
        "type",
        "stripe_created_at",
        "received_at",
        "deliveries",
        "processed_at",
        "error",
        "payload",
        "payload_redacted",
    )
    readonly_fields = fields
    actions = ("reprocess",)

    @admin.display(description=_("payload (contact data masked)"))
    def payload_redacted(self, event: StripeEvent) -> str:
        return redact_contact_data(json.dumps(event.payload, indent=2, ensure_ascii=False))

    @admin.display(boolean=True, description=_("failed"))
    def failed(self, event: StripeEvent) -> bool:
        return bool(event.error) and event.processed_at is None

    @admin.action(description=_("Process selected events again"), permissions=["change"])
    def reprocess(self, request, queryset):
        done = 0
        for event in queryset:
            try:
                stripe_events.stripe_event_process(stripe_event=event)
            except stripe_events.StripeEventFailed as error:
                messages.error(request, f"{event.stripe_id}: {error}")
            else:
                done += 1
        if done:
            messages.success(
                request,
                ngettext("%(count)d event processed.", "%(count)d events processed.", done)
                % {"count": done},
            )


@admin.register(PayoutSwitch)
class PayoutSwitchAdmin(SingletonAdmin):
    """Off stops the payout run without losing anything; saving goes through the service."""

    fields = ("payouts_enabled", "note", "changed_at")
    readonly_fields = ("changed_at",)
    inlines = (EventInline,)

    def save_model(self, request, obj, form, change):
        payouts_service.payout_switch_set(
            enabled=form.cleaned_data["payouts_enabled"],
            note=form.cleaned_data["note"],
            actor=request.user,
        )
