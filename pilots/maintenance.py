"""The pilots part's periodic work: snapshots, lifecycle, health, retention, audits, reports.

Each function is idempotent per subject: run twice for the same day it leaves
the same rows (upserts, state guards, dedupe keys) and sends each report once
(``step_once``), so a redelivered task, a second beat or a run that takes over
from a dead worker does only what is left. ``checkpoint()`` between subjects
renews the run's lease.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format as local_date
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.i18n import staff_language
from core.maintenance import Counts, checkpoint, step_once
from core.money import format_money
from core.outbox import email_queue, text_render
from core.pdf import html_to_pdf
from core.roles import PILOT_MANAGERS
from core.security import SecuritySummary
from pilots import services
from pilots.models import (
    Enrollment,
    Feedback,
    Payment,
    Pilot,
    QRCode,
    RewardRecipient,
    ScanCount,
    StripeEvent,
)
from pilots.reporting import pilot_report
from pilots.selectors import enrollment_kpis, payment_outcomes, pilot_kpis, probe_uptime
from support.models import Priority, Ticket
from support.selectors import paging_figures, report_support_figures
from support.services import ticket_create

HEALTH_QUALITY_MIN = 65
HEALTH_PARTICIPATION_MIN = 8
HEALTH_PAYOUT_FAILURES_MAX = 2
QR_UNSCANNED_DAYS = 14


def kpi_snapshot_take(*, day: date) -> Counts:
    """A DailyMetric per enrollment that ran on ``day``: an upsert, never a duplicate."""
    summary = Counts()
    made, replaced = services.daily_metrics_take(day=day)
    if made:
        summary.add("snapshots made", made)
    if replaced:
        summary.add("snapshots replaced", replaced)
    return summary


def pilots_lifecycle_run(*, today: date) -> Counts:
    """Complete pilots past their end date; close enrollments that reached their trial limit."""
    summary = Counts()
    for pilot in Pilot.objects.filter(
        status__in=[Pilot.Status.ACTIVE, Pilot.Status.PAUSED], ends_on__lt=today
    ):
        checkpoint()
        if services.pilot_complete_ended(pilot=pilot, today=today):
            summary.add("pilots completed")
    full = Enrollment.objects.filter(
        status=Enrollment.Status.ACTIVE, feedback_count__gte=F("trial_limit")
    )
    for enrollment in full:
        checkpoint()
        if services.enrollment_close_full(enrollment=enrollment):
            summary.add("enrollments closed at their trial limit")
    return summary


def pilot_health_check(*, now: datetime) -> Counts:
    """A ticket (one while open) for each active site below quality, participation or payouts."""
    summary = Counts()
    today = now.date()
    yesterday = today - timedelta(days=1)
    enrollments = list(
        Enrollment.objects.filter(
            status=Enrollment.Status.ACTIVE, pilot__status=Pilot.Status.ACTIVE
        ).select_related("business", "pilot")
    )
    kpis = enrollment_kpis(enrollments, start=yesterday, end=yesterday, today=today)
    since = now - timedelta(days=1)
    payments = {
        row["business"]: row
        for row in Payment.objects.filter(updated_at__gte=since)
        .values("business")
        .annotate(
            failed=Count("id", filter=Q(status=Payment.Status.FAILED)),
            settled=Count("id", filter=Q(status__in=[Payment.Status.PAID, Payment.Status.FAILED])),
        )
        .order_by()
    }
    for enrollment in enrollments:
        checkpoint()
        business, figures = enrollment.business, kpis[enrollment.pk]
        problems = []
        if figures.feedback_count and figures.average_quality < HEALTH_QUALITY_MIN:
            problems.append(("quality", f"average quality {figures.average_quality:.0f} < 65"))
        if (
            figures.days
            and figures.participation is not None
            and (figures.participation < HEALTH_PARTICIPATION_MIN)
        ):
            problems.append(("participation", f"participation {figures.participation:.1f} % < 8 %"))
        money = payments.get(business.pk)
        if (
            money
            and money["settled"]
            and 100 * money["failed"] / money["settled"] > (HEALTH_PAYOUT_FAILURES_MAX)
        ):
            rate = 100 * money["failed"] / money["settled"]
            problems.append(("payouts", f"payout failures {rate:.1f} % > 2 %"))
        for kind, text in problems:
            ticket_create(
                title=f"{business.name}: {text}",
                description=f"Pilot health check for {enrollment.pilot.name} on {yesterday}.",
                priority=Priority.P2,
                category=Ticket.Category.PILOT_HEALTH,
                source=Ticket.Source.SYSTEM,
                business=business,
                pilot=enrollment.pilot,
                dedupe_key=f"health:{business.slug}:{kind}",
            )
            summary.add("health problems")
    return summary


@transaction.atomic
def retention_sweep(*, now: datetime) -> Counts:
    """Anonymise contacts and purge raw counters older than RETENTION_DAYS; keep aggregates."""
    summary = Counts()
    cutoff = now - timedelta(days=settings.RETENTION_DAYS)
    with_contact = Q(contact_email__gt="") | Q(contact_phone__gt="")
    summary.add(
        "feedback contacts anonymised",
        Feedback.objects.filter(with_contact, submitted_at__lt=cutoff).update(
            contact_email="", contact_phone="", contact_anonymised_at=now
        ),
    )
    recent_recipients = Payment.objects.filter(created_at__gte=cutoff).values("recipient")
    summary.add(
        "recipient contacts anonymised",
        RewardRecipient.objects.filter(with_contact, created_at__lt=cutoff)
        .exclude(pk__in=recent_recipients)
        .update(contact_email="", contact_phone="", contact_anonymised_at=now),
    )
    summary.add(
        "scan counters purged",
        ScanCount.objects.filter(day__lt=cutoff.date()).delete()[0],
    )
    summary.add(
        "Stripe payloads purged",
        StripeEvent.objects.filter(received_at__lt=cutoff).exclude(payload={}).update(payload={}),
    )
    return summary


def qr_audit(*, today: date) -> Counts:
    """Codes that should not be out there, or that nobody scans: one ticket per business."""
    summary = Counts()
    active_codes = QRCode.objects.filter(status=QRCode.Status.ACTIVE).select_related("business")
    enrolled = set(
        Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).values_list(
            "business", flat=True
        )
    )
    since = today - timedelta(days=QR_UNSCANNED_DAYS)
    scanned = set(
        ScanCount.objects.filter(day__gte=since, scans__gt=0).values_list("qr_code", flat=True)
    )
    findings: dict = {}
    for code in active_codes:
        if code.business_id not in enrolled:
            findings.setdefault(code.business, []).append(f"{code.placement}: no active pilot")
        elif code.pk not in scanned:
            findings.setdefault(code.business, []).append(
                f"{code.placement}: not scanned in {QR_UNSCANNED_DAYS} days"
            )
    year, week, _ = today.isocalendar()
    for business, lines in findings.items():
        checkpoint()
        ticket_create(
            title=f"{business.name}: QR audit found {len(lines)} code(s) to check",
            description="\n".join(lines),
            priority=Priority.P3,
            category=Ticket.Category.QR_CODE,
            source=Ticket.Source.SYSTEM,
            business=business,
            dedupe_key=f"qr-audit:{business.slug}:{year}-W{week:02d}",
        )
        summary.add("businesses with findings")
    summary.add("codes checked", len(active_codes))
    return summary


# ------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PilotFigures:
    pilot: Pilot
    kpis: object
    payments_paid: int
    payments_failed: int


def pilot_figures(*, start: date, end: date) -> list[PilotFigures]:
    figures = []
    for pilot in Pilot.objects.filter(status__in=[Pilot.Status.ACTIVE, Pilot.Status.PAUSED]):
        money = payment_outcomes(
            list(pilot.enrollments.values_list("pk", flat=True)), start=start, end=end
        ).values()
        figures.append(
            PilotFigures(
                pilot,
                pilot_kpis(pilot, start=start, end=end, today=end),
                payments_paid=sum(paid for paid, _ in money),
                payments_failed=sum(failed for _, failed in money),
            )
        )
    return figures


def _manager_emails() -> dict[str, list[str]]:
    """The active Pilot managers' addresses, by the language each reads the back office in."""
    by_language: dict[str, list[str]] = {}
    managers = (
        get_user_model()
        .objects.filter(groups__name=PILOT_MANAGERS, is_active=True)
        .exclude(email="")
        .order_by("email")
    )
    for manager in managers:
        by_language.setdefault(staff_language(manager), []).append(manager.email)
    return by_language


# The reports' titles as the jobs name them (pilots.jobs), in the reader's language.
REPORT_TITLES = {"daily report": _("daily report"), "weekly report": _("weekly report")}


# Other apps' parts of the daily and weekly report: each takes the period's first
# and last local day and returns plain text (registered from AppConfig.ready).
REPORT_SECTIONS: list[Callable[..., str]] = []


def report_section_register(section: Callable[..., str]) -> None:
    if section not in REPORT_SECTIONS:
        REPORT_SECTIONS.append(section)


def report_send(
    *, start: date, end: date, title: str, security: SecuritySummary | None = None
) -> Counts:
    """E-mail the key figures for ``start``..``end`` to every Pilot manager, once per period.

    The weekly report adds ``security``: the access review's figures. Each manager
    reads it in their back office language (``core.i18n.staff_language``).
    """
    summary = Counts()
    recipients = _manager_emails()
    if not recipients:
        return summary
    context = {
        "start": start,
        "end": end,
        "pilots": pilot_figures(start=start, end=end),
        "support": report_support_figures(start=start, end=end),
        "paging": paging_figures(start=start, end=end),
        "security": security,
        "uptime": probe_uptime(start=start, end=end),
    }
    with step_once(f"report:{title}:{start}:{end}") as due:
        if not due:
            summary.add("reports sent before")
            return summary
        for language, addresses in recipients.items():
            with translation.override(language):
                local_title = str(REPORT_TITLES.get(title, title))
                period = local_date(start)
                if end != start:
                    period = f"{period} – {local_date(end)}"
                email_queue(
                    to=addresses,
                    subject=gettext("Pilot Ops %(title)s: %(period)s")
                    % {"title": local_title, "period": period},
                    body=text_render(
                        "pilots/email/report.txt",
                        {
                            **context,
                            "title": local_title,
                            "sections": [
                                section(start=start, end=end) for section in REPORT_SECTIONS
                            ],
                        },
                    ),
                    purpose="report",
                )
    summary.add("reports sent", sum(len(addresses) for addresses in recipients.values()))
    return summary


SUCCESS_REPORT_AFTER_DAYS = 30


def success_reports_send(*, today: date) -> Counts:
    """E-mail Pilot managers the success report (PDF) of pilots that ended 30 to 36 days ago.

    Weekly, so each pilot's end date falls in exactly one run's window; each
    pilot's report is sent once, whichever run (or hand run) gets to it.
    """
    summary = Counts()
    recipients = _manager_emails()
    if not recipients:
        return summary
    latest = today - timedelta(days=SUCCESS_REPORT_AFTER_DAYS)
    for pilot in Pilot.objects.filter(ends_on__lte=latest, ends_on__gt=latest - timedelta(days=7)):
        with step_once(f"success-report:{pilot.pk}") as due:
            if not due:
                summary.add("success reports sent before")
                continue
            for language, addresses in recipients.items():
                with translation.override(language):
                    report = pilot_report(pilot, start=pilot.starts_on, end=pilot.ends_on)
                    html = render_to_string(
                        "pilots/report.html",
                        {
                            "report": report,
                            "reward": format_money(pilot.reward_amount, pilot.reward_currency),
                            "for_pdf": True,
                        },
                    )
                    email_queue(
                        to=addresses,
                        subject=gettext("Pilot Ops: success report of %(pilot)s")
                        % {"pilot": pilot.name},
                        body=gettext(
                            "The success report of %(pilot)s (%(start)s – %(end)s) is attached."
                        )
                        % {
                            "pilot": pilot.name,
                            "start": local_date(pilot.starts_on),
                            "end": local_date(pilot.ends_on),
                        },
                        purpose="success_report",
                        attachments=[
                            (
                                f"{pilot.slug}-success-report.pdf",
                                html_to_pdf(html),
                                "application/pdf",
                            )
                        ],
                    )
        summary.add("success reports sent")
    return summary
