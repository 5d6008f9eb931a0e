"""Admin for feedback, the intake switch and the synthetic probe's runs."""

from functools import partial

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import (
    CappedCountPaginator,
    ContactDataAdminMixin,
    CsvExportMixin,
    EventInline,
    FullTextSearchMixin,
    PageRelatedMixin,
    ReadOnlyAdmin,
    ServiceWrittenAdmin,
    SingletonAdmin,
    run_for_each,
)
from core.privacy import mask_contact
from pilots import intake
from pilots.models import Category, Feedback, IntakeSwitch, Payment, ProbeRun


# ------------------------------------------------------------------------------
# Feedback
# ------------------------------------------------------------------------------
class RatingFilter(admin.SimpleListFilter):
    """Fixed choices: never a SELECT DISTINCT over the feedback table."""

    title = _("rating")
    parameter_name = "rating"

    def lookups(self, request, model_admin):
        return [(str(n), "★" * n) for n in range(5, 0, -1)]

    def queryset(self, request, queryset):
        return queryset.filter(rating=int(self.value())) if self.value() else queryset


class ScoreBandFilter(admin.SimpleListFilter):
    title = _("quality score")
    parameter_name = "score"
    BANDS = {"80-100": (80, 100), "60-79": (60, 79), "40-59": (40, 59), "0-39": (0, 39)}

    def lookups(self, request, model_admin):
        return [(band, band) for band in self.BANDS]

    def queryset(self, request, queryset):
        if self.value() not in self.BANDS:
            return queryset
        low, high = self.BANDS[self.value()]
        return queryset.filter(quality_score__gte=low, quality_score__lte=high)


FEEDBACK_CSV_COLUMNS = (
    ("submitted_at", _("submitted")),
    ("business__name", _("business")),
    ("pilot__name", _("pilot")),
    ("qr_code__placement", _("placement")),
    ("rating", _("rating")),
    ("categories", _("categories")),
    ("comment", _("comment")),
    ("language", _("language")),
    ("quality_score", _("quality score")),
    ("status", _("status")),
    ("reward_eligible", _("reward eligible")),
)


@admin.register(Feedback)
class FeedbackAdmin(
    PageRelatedMixin,
    ContactDataAdminMixin,
    FullTextSearchMixin,
    CsvExportMixin,
    ServiceWrittenAdmin,
):
    """Read-only except the status; contact data masked; fast at a million rows."""

    list_display = (
        "submitted_at",
        "business",
        "pilot",
        "rating",
        "quality_score",
        "status",
        "excerpt",
        "contact",
        "reward_eligible",
    )
    list_filter = (
        "pilot",
        "business",
        "status",
        ScoreBandFilter,
        RatingFilter,
        "submitted_at",
        "reward_eligible",
        "is_synthetic",
    )
    page_related = ("business", "pilot")
    search_fields = ("comment",)
    full_text_fields = ("comment",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    csv_columns = FEEDBACK_CSV_COLUMNS
    actions = ("mark_spam", "mark_flagged", "mark_accepted")
    fields = (
        "submitted_at",
        "business",
        "pilot",
        "qr_code",
        "rating",
        "categories_shown",
        "comment",
        "language",
        "quality_score",
        "status",
        "reward_eligible",
        "contact",
        "consent_at",
        "reward_payment",
    )
    readonly_fields = fields
    inlines = (EventInline,)

    @admin.display(description=_("comment"))
    def excerpt(self, feedback: Feedback) -> str:
        # Cut to one line by the browser, so the cell holds the comment as written.
        return format_html(
            '<span style="display:inline-block;max-width:36em;overflow:hidden;'
            'text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom">{}</span>',
            feedback.comment,
        )

    @admin.display(description=_("categories"))
    def categories_shown(self, feedback: Feedback) -> str:
        labels = {value: label for value, label in Category.choices}
        return ", ".join(str(labels.get(value, value)) for value in feedback.categories) or "—"

    @admin.display(description=_("reward payment"))
    def reward_payment(self, feedback: Feedback) -> str:
        payment = Payment.objects.filter(feedback=feedback).first()
        if payment is None:
            return "—"
        url = reverse("admin:pilots_payment_change", args=[payment.pk])
        return format_html(
            '<a href="{}">{}</a> · {}',
            url,
            gettext("payment %(number)s") % {"number": payment.pk},
            payment.get_status_display(),
        )

    @admin.display(description=_("contact"))
    def contact(self, feedback: Feedback) -> str:
        return mask_contact(email=feedback.contact_email, phone=feedback.contact_phone)

    def _set_status(self, request, queryset, status: str, done) -> None:
        change = partial(intake.feedback_status_set, status=status)
        run_for_each(request, queryset, change, keyword="feedback", done=done)

    @admin.action(description=_("Mark selected feedback as spam"), permissions=["change"])
    def mark_spam(self, request, queryset):
        self._set_status(
            request,
            queryset,
            Feedback.Status.SPAM,
            lambda n: (
                ngettext(
                    "%(count)d feedback marked as spam.", "%(count)d feedback marked as spam.", n
                )
                % {"count": n}
            ),
        )

    @admin.action(description=_("Flag selected feedback for review"), permissions=["change"])
    def mark_flagged(self, request, queryset):
        self._set_status(
            request,
            queryset,
            Feedback.Status.FLAGGED,
            lambda n: (
                ngettext("%(count)d feedback flagged.", "%(count)d feedback flagged.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Accept selected feedback"), permissions=["change"])
    def mark_accepted(self, request, queryset):
        self._set_status(
            request,
            queryset,
            Feedback.Status.ACCEPTED,
            lambda n: (
                ngettext("%(count)d feedback accepted.", "%(count)d feedback accepted.", n)
                % {"count": n}
            ),
        )


@admin.register(IntakeSwitch)
class IntakeSwitchAdmin(SingletonAdmin):
    """Closes every feedback form at once; saving goes through the service."""

    fields = ("is_open", "message", "retry_after_minutes", "changed_at")
    readonly_fields = ("changed_at",)
    inlines = (EventInline,)

    def save_model(self, request, obj, form, change):
        intake.intake_switch_set(
            is_open=form.cleaned_data["is_open"],
            message=form.cleaned_data["message"],
            retry_after_minutes=form.cleaned_data["retry_after_minutes"],
            actor=request.user,
        )


@admin.register(ProbeRun)
class ProbeRunAdmin(ReadOnlyAdmin):
    """Every synthetic journey through the form: the uptime the weekly report adds up."""

    list_display = ("started_at", "ok", "latency_ms", "status_code", "detail")
    list_filter = ("ok", "started_at")
    readonly_fields = list_display
    show_full_result_count = False
    paginator = CappedCountPaginator
