"""Admin for plans, offers, and each business's subscriptions and invoices.

Every change goes through ``billing.services``; only Pilot managers (and
operators) hold the billing permissions that change anything.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.forms import OfferForm, PlanChangeForm, PlanForm
from billing.models import Invoice, Offer, Plan, Subscription
from core.admin import EventInline
from core.money import format_money
from pilots import stripe_gateway


def _link(url: str, text: str) -> str:
    return (
        format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, text) if url else "—"
    )


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    form = PlanForm
    list_display = ("name", "price", "vat_percent", "feature_list", "is_active", "in_sync")
    readonly_fields = ("stripe_product_id", "stripe_price_id", "stripe_tax_rate_id", "synced_at")
    actions = ("sync_with_stripe",)
    inlines = (EventInline,)

    @admin.display(description=_("monthly price (excl. VAT)"))
    def price(self, plan: Plan) -> str:
        return format_money(plan.monthly_price, plan.currency)

    @admin.display(description=_("features"))
    def feature_list(self, plan: Plan) -> str:
        return ", ".join(plan.features) or "—"

    @admin.display(description=_("in sync with Stripe"), boolean=True)
    def in_sync(self, plan: Plan) -> bool:
        return plan.in_sync

    @admin.action(description=_("Sync the selected plans with Stripe"), permissions=["change"])
    def sync_with_stripe(self, request, queryset):
        for plan in queryset:
            try:
                result = services.plan_sync(plan=plan)
            except stripe_gateway.StripeNotConfigured:
                messages.error(request, gettext("Stripe is not configured: nothing was synced."))
                return
            except (stripe_gateway.TransientStripeError, stripe_gateway.PermanentStripeError) as e:
                messages.error(
                    request,
                    gettext("%(plan)s: Stripe did not confirm (%(error)s); try again.")
                    % {"plan": plan.name, "error": e},
                )
            else:
                messages.success(request, str(result))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a plan once offered stays; switch it off instead


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    form = OfferForm
    list_display = ("created_at", "business", "plan", "method", "status", "checkout_link")
    list_filter = ("status", "method", "plan")
    list_select_related = ("business", "plan")
    search_fields = ("business__name",)
    autocomplete_fields = ("business", "pilot")
    actions = ("ask_stripe_again",)
    readonly_fields = (
        "status",
        "stripe_customer_id",
        "stripe_checkout_session_id",
        "checkout_url",
        "stripe_subscription_id",
        "attempts",
        "last_error",
        "offered_by",
    )

    @admin.display(description=_("Checkout link"))
    def checkout_link(self, offer: Offer) -> str:
        return _link(offer.checkout_url, gettext("open"))

    def get_fields(self, request, obj=None):
        return ("business", "pilot", "plan", "method") + (self.readonly_fields if obj else ())

    def get_readonly_fields(self, request, obj=None):
        return ("business", "pilot", "plan", "method", *self.readonly_fields) if obj else ()

    def get_changeform_initial_data(self, request):
        return {
            key: request.GET[key]
            for key in ("business", "pilot")
            if request.GET.get(key, "").isdigit()
        }

    def save_model(self, request, obj, form, change):
        if change:
            return
        offer = services.offer_create(
            business=obj.business,
            plan=obj.plan,
            method=obj.method,
            pilot=obj.pilot,
            actor=request.user,
        )
        obj.pk = offer.pk
        self._send(request, offer)

    def save_related(self, request, form, formsets, change):
        pass  # an offer has no related rows to save

    def _send(self, request, offer: Offer) -> None:
        try:
            offer = services.offer_send(offer_id=offer.pk)
        except services.BillingError as error:
            messages.warning(request, str(error))
            return
        if offer.status == Offer.Status.UNKNOWN:
            messages.warning(
                request,
                gettext("Stripe's answer was lost: the offer is unknown; it is asked again."),
            )
        elif offer.status == Offer.Status.FAILED:
            messages.error(
                request,
                gettext("Stripe refused the offer: %(error)s") % {"error": offer.last_error},
            )

    @admin.action(description=_("Ask Stripe again (unknown offers)"), permissions=["change"])
    def ask_stripe_again(self, request, queryset):
        for offer in queryset.filter(status__in=[Offer.Status.PENDING, Offer.Status.UNKNOWN]):
            self._send(request, offer)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InvoiceInline(admin.TabularInline):
    model = Invoice
    fields = ("number", "status", "amount", "paid", "due_at", "paid_at", "hosted_link")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description=_("amount (incl. VAT)"))
    def amount(self, invoice: Invoice) -> str:
        return format_money(invoice.amount_due, invoice.currency)

    @admin.display(description=_("paid"))
    def paid(self, invoice: Invoice) -> str:
        return format_money(invoice.amount_paid, invoice.currency)

    @admin.display(description=_("invoice"))
    def hosted_link(self, invoice: Invoice) -> str:
        return _link(invoice.hosted_invoice_url, gettext("view at Stripe"))

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "business",
        "plan",
        "status",
        "monthly",
        "current_period_end",
        "cancel_at_period_end",
        "features_suspended_at",
    )
    list_filter = ("status", "plan", "cancel_at_period_end")
    list_select_related = ("business", "plan")
    search_fields = ("business__name", "stripe_subscription_id")
    inlines = (InvoiceInline, EventInline)
    actions = ("cancel_at_period_end_action", "keep_running_action")
    change_form_template = "admin/billing/subscription/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Subscription._meta.fields]

    @admin.display(description=_("monthly (excl. VAT)"))
    def monthly(self, subscription: Subscription) -> str:
        return format_money(subscription.plan.monthly_price, subscription.plan.currency)

    def has_add_permission(self, request) -> bool:
        return False  # subscriptions come from offers and Stripe's word

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _apply(self, request, queryset, *, cancel: bool) -> None:
        for subscription in queryset:
            try:
                services.subscription_cancel_at_period_end(
                    subscription=subscription, cancel=cancel, actor=request.user
                )
            except services.BillingError as error:
                messages.error(request, f"{subscription.business.name}: {error}")
            else:
                messages.success(
                    request,
                    gettext("%(business)s: done.") % {"business": subscription.business.name},
                )

    @admin.action(description=_("Cancel at the end of the period"), permissions=["change"])
    def cancel_at_period_end_action(self, request, queryset):
        self._apply(request, queryset, cancel=True)

    @admin.action(description=_("Keep running (undo cancel at period end)"), permissions=["change"])
    def keep_running_action(self, request, queryset):
        self._apply(request, queryset, cancel=False)

    def get_urls(self):
        return [
            path(
                "<int:pk>/change-plan/",
                self.admin_site.admin_view(self.change_plan_view),
                name="billing_subscription_change_plan",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "change_plan_url": reverse("admin:billing_subscription_change_plan", args=[object_id])
            if str(object_id).isdigit()
            else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def change_plan_view(self, request, pk: int):
        """Pick a plan, see Stripe's proration preview, confirm."""
        subscription = get_object_or_404(
            Subscription.objects.select_related("plan", "business"), pk=pk
        )
        if not self.has_change_permission(request, subscription):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else (request.GET or None)
        form = PlanChangeForm(data, subscription=subscription)
        preview = None
        if form.is_bound and form.is_valid():
            plan = form.cleaned_data["plan"]
            try:
                if request.method == "POST":
                    services.subscription_plan_change(
                        subscription=subscription, plan=plan, actor=request.user
                    )
                    messages.success(
                        request,
                        gettext("%(business)s is now on %(plan)s.")
                        % {"business": subscription.business.name, "plan": plan.name},
                    )
                    return HttpResponseRedirect(
                        reverse("admin:billing_subscription_change", args=[pk])
                    )
                preview = services.subscription_change_preview(subscription=subscription, plan=plan)
            except services.BillingError as error:
                messages.error(request, str(error))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Change the plan of %(business)s")
            % {"business": subscription.business.name},
            "opts": self.model._meta,
            "subscription": subscription,
            "form": form,
            "preview": preview,
            "proration": format_money(preview.proration, preview.currency.upper())
            if preview
            else "",
            "amount_due": format_money(preview.amount_due, preview.currency.upper())
            if preview
            else "",
        }
        return TemplateResponse(request, "admin/billing/subscription/change_plan.html", context)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "business", "status", "amount", "due_at", "paid_at", "hosted_link")
    list_filter = ("status",)
    list_select_related = ("business",)
    search_fields = ("number", "business__name", "stripe_invoice_id")

    amount = InvoiceInline.amount
    hosted_link = InvoiceInline.hosted_link

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Invoice._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
