"""The daily and weekly jobs: idempotent, and doing what they say."""

import datetime
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from core import roles
from pilots import maintenance, payouts, services, stripe_events
from pilots.models import (
    DailyMetric,
    Enrollment,
    Feedback,
    Payout,
    Pilot,
    RewardRecipient,
    ScanCount,
    StripeEvent,
)
from pilots.selectors import pilot_kpis
from support.models import Ticket
from support.services import ticket_create
from tests.conftest import good_feedback_submit, outbox_delivered

pytestmark = pytest.mark.django_db


def state() -> dict:
    """What the jobs may change, as counts and sums."""
    return {
        "metrics": DailyMetric.objects.count(),
        "metric sums": DailyMetric.objects.aggregate(s=Sum("submissions"), q=Sum("scans")),
        "tickets": Ticket.objects.count(),
        "closed tickets": Ticket.objects.filter(status="closed").count(),
        "pilots": list(Pilot.objects.values_list("status", flat=True).order_by("pk")),
        "enrollments": list(Enrollment.objects.values_list("status", flat=True).order_by("pk")),
        "contacts": Feedback.objects.exclude(contact_email="").count(),
        "scans": ScanCount.objects.count(),
    }


submit = good_feedback_submit


def test_every_daily_and_weekly_job_twice_equals_once(open_code, enrolled):
    submit(open_code, contact_email="anna@example.se", consent=True)
    ticket = ticket_create(title="old", priority="P3")
    Ticket.objects.filter(pk=ticket.pk).update(
        status="resolved", resolved_at=timezone.now() - timedelta(days=8)
    )
    today = timezone.localdate()
    now = timezone.now()
    runs = [
        lambda: maintenance.kpi_snapshot_take(day=today),
        lambda: maintenance.pilots_lifecycle_run(today=today),
        lambda: maintenance.retention_sweep(now=now),
        lambda: maintenance.qr_audit(today=today),
        lambda: maintenance.pilot_health_check(now=now),
        lambda: __import__("support.services", fromlist=["x"]).tickets_auto_close(now=now),
    ]
    for run in runs:
        run()
    once = state()

    for run in runs:
        run()

    assert state() == once
    assert once["metrics"] == 1
    assert once["closed tickets"] == 1


def test_kpi_snapshot_equals_the_selectors_and_replaces_on_rerun(open_code, enrolled):
    submit(open_code)
    today = timezone.localdate()

    maintenance.kpi_snapshot_take(day=today)
    submit(open_code, client_hash="b" * 64)
    maintenance.kpi_snapshot_take(day=today)

    (metric,) = DailyMetric.objects.all()
    kpis = pilot_kpis(enrolled.pilot, start=today, end=today, today=today)
    assert metric.submissions == kpis.feedback_count == 2
    assert metric.quality_average == pytest.approx(kpis.average_quality)


def test_lifecycle_completes_ended_pilots_and_closes_full_enrollments(make_pilot, make_business):
    ended = make_pilot(
        "Ended", starts_on=datetime.date(2026, 1, 1), ends_on=datetime.date(2026, 2, 1)
    )
    Pilot.objects.filter(pk=ended.pk).update(status=Pilot.Status.ACTIVE)
    running = services.pilot_activate(pilot=make_pilot("Running"))
    full = services.enrollment_create(
        pilot=running, business=make_business("Full café"), trial_limit=3
    )
    Enrollment.objects.filter(pk=full.pk).update(feedback_count=3)

    summary = maintenance.pilots_lifecycle_run(today=timezone.localdate())

    ended.refresh_from_db()
    full.refresh_from_db()
    assert ended.status == Pilot.Status.COMPLETED
    assert full.status == Enrollment.Status.CLOSED
    assert summary.counts == {"pilots completed": 1, "enrollments closed at their trial limit": 1}


def test_retention_removes_old_contacts_everywhere_and_keeps_aggregates(
    open_code, enrolled, settings
):
    settings.RETENTION_DAYS = 90
    old = submit(open_code, client_hash="o" * 64, contact_email="old@example.se", consent=True)
    new = submit(open_code, client_hash="n" * 64, contact_phone="+46701234567", consent=True)
    long_ago = timezone.now() - timedelta(days=91)
    Feedback.objects.filter(pk=old.pk).update(submitted_at=long_ago)
    RewardRecipient.objects.filter(contact_email="old@example.se").update(created_at=long_ago)
    old.payment.__class__.objects.filter(pk=old.payment.pk).update(created_at=long_ago)
    staff = ticket_create(title="x", reporter_name="Sara", reporter_contact="0701112233")
    Ticket.objects.filter(pk=staff.pk).update(created_at=long_ago)
    ScanCount.objects.create(
        qr_code=open_code,
        business=open_code.business,
        pilot=enrolled.pilot,
        day=long_ago.date(),
        scans=40,
    )
    StripeEvent.objects.create(
        stripe_id="evt_old", type="account.updated", payload={"data": {"email": "old@example.se"}}
    )
    StripeEvent.objects.filter(stripe_id="evt_old").update(received_at=long_ago)
    Pilot.objects.filter(pk=enrolled.pilot_id).update(starts_on=long_ago.date() - timedelta(days=1))
    maintenance.kpi_snapshot_take(day=long_ago.date())
    aggregate = DailyMetric.objects.get(day=long_ago.date())

    maintenance.retention_sweep(now=timezone.now())
    from support.services import ticket_contacts_anonymise

    ticket_contacts_anonymise(now=timezone.now())

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.contact_email, old.contact_anonymised_at is not None) == ("", True)
    assert new.contact_phone == "+46701234567"
    assert not RewardRecipient.objects.filter(contact_email="old@example.se").exists()
    assert RewardRecipient.objects.filter(contact_phone="+46701234567").exists()
    staff.refresh_from_db()
    assert (staff.reporter_name, staff.reporter_contact) == ("", "")
    assert not ScanCount.objects.filter(day=long_ago.date()).exists()
    assert StripeEvent.objects.get(stripe_id="evt_old").payload == {}
    assert DailyMetric.objects.get(pk=aggregate.pk).scans == aggregate.scans == 40
    assert Feedback.objects.filter(pk=old.pk).exists()  # the feedback itself stays


def test_reconciliation_reports_a_transfer_missing_on_either_side(open_code, stripe_fake):
    feedback = submit(open_code, contact_email="eva@example.se", consent=True)
    recipient = feedback.payment.recipient
    recipient.stripe_account_id = stripe_fake.account_add()
    recipient.onboarding = "payable"
    recipient.save()
    payouts.payouts_run()
    paid = Payout.objects.get()
    # A payout we think is paid but Stripe never made, and a transfer we never asked for:
    Payout.objects.filter(pk=paid.pk).update(stripe_transfer_id="tr_not_at_stripe")
    stray = stripe_fake.transfer_add(
        amount=1000, destination=recipient.stripe_account_id, transfer_group="pilotops-payout-stray"
    )

    counts = stripe_events.stripe_reconcile(
        start=timezone.now() - timedelta(days=7), end=timezone.now() + timedelta(minutes=1)
    )

    descriptions = " ".join(
        Ticket.objects.filter(category="payments").values_list("description", flat=True)
    )
    assert counts["mismatches"] == 3  # ours missing at Stripe, Stripe's real one, the stray
    assert "tr_not_at_stripe" in descriptions
    assert stray["id"] in descriptions


def test_daily_report_has_the_kpi_selectors_figures(open_code, enrolled, staff_member):
    manager = staff_member(roles.PILOT_MANAGERS)
    manager.email = "manager@pilotops.example"
    manager.save()
    submit(open_code)
    submit(open_code, client_hash="b" * 64)
    today = timezone.localdate()

    maintenance.report_send(start=today, end=today, title="daily report")

    (message,) = outbox_delivered()
    kpis = pilot_kpis(enrolled.pilot, start=today, end=today, today=today)
    assert message.to == ["manager@pilotops.example"]
    assert f"New feedback:     {kpis.feedback_count}" in message.body
    assert f"Average quality:  {kpis.average_quality:.1f}" in message.body
    assert f"Participation:    {kpis.participation:.1f} %" in message.body
    assert enrolled.pilot.name in message.body


def test_pilot_health_opens_one_ticket_per_problem_while_open(open_code, enrolled):
    yesterday = timezone.now() - timedelta(days=1)
    for n in range(3):
        Feedback.objects.create(
            business=open_code.business,
            pilot=enrolled.pilot,
            enrollment=enrolled,
            qr_code=open_code,
            rating=2,
            language="sv",
            quality_score=30,
            client_hash=f"{n}" * 64,
            submitted_at=yesterday,
        )

    maintenance.pilot_health_check(now=timezone.now())
    maintenance.pilot_health_check(now=timezone.now())

    keys = set(Ticket.objects.values_list("dedupe_key", flat=True))
    slug = open_code.business.slug
    assert keys == {f"health:{slug}:quality", f"health:{slug}:participation"}


def test_success_report_mailed_30_days_after_a_pilot_ended(make_pilot, staff_member, make_business):
    manager = staff_member(roles.PILOT_MANAGERS)
    manager.email = "manager@pilotops.example"
    manager.save()
    today = timezone.localdate()
    ended = make_pilot(
        "Spring pilot",
        starts_on=today - timedelta(days=90),
        ends_on=today - timedelta(days=31),
    )
    make_pilot(
        "Too recent", starts_on=today - timedelta(days=60), ends_on=today - timedelta(days=5)
    )

    summary = maintenance.success_reports_send(today=today)

    (message,) = outbox_delivered()
    assert summary.counts == {"success reports sent": 1}
    assert ended.name in message.subject
    (attachment,) = message.attachments
    assert attachment[0] == "spring-pilot-success-report.pdf"
    assert attachment[1][:4] == b"%PDF"
