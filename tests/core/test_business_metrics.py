"""/metrics carries the business metrics, with the right values after a scripted day."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.maintenance import JOBS, run_job
from core.metrics import business_gauges
from core.services import heartbeat_record
from pilots import payouts
from pilots.models import Payment, RewardRecipient
from support import incidents, services
from support.models import Severity, Ticket
from tests.conftest import PROJECT_DIR, feedback_post

pytestmark = pytest.mark.django_db


def scrape(client) -> dict[tuple, float]:
    business_gauges.forget()
    text = client.get("/metrics").content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_business_metrics_after_a_scripted_day(client, open_code, stripe_fake):
    slug = open_code.business.slug
    before = scrape(client)

    client.get(f"/q/{open_code.token}/")
    client.post(f"/q/{open_code.token}/", feedback_post())
    recipient = RewardRecipient.objects.get()
    recipient.stripe_account_id = stripe_fake.account_add(payouts_enabled=False)
    recipient.onboarding = RewardRecipient.Onboarding.PAYABLE
    recipient.save()
    recipient.contact_verified_at = timezone.now()
    recipient.save()
    payouts.payouts_run()  # Stripe refuses: the destination cannot receive transfers
    services.ticket_create(title="Down", priority="P0", now=timezone.now() - timedelta(hours=1))
    services.sla_sweep()
    incidents.incident_declare(title="Outage", severity=Severity.SEV1)
    heartbeat_record()

    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("pilotops_feedback_submissions_total", business=slug, outcome="accepted") == 1
    assert grew("pilotops_scans_total", business=slug) == 1
    assert grew("pilotops_payout_attempts_total", outcome="refused") == 1
    assert grew("pilotops_payout_failures_total") == 1
    assert grew("pilotops_sla_events_total", priority="P0", metric="response", level="breach") == 1
    # What the alerts read comes from rows, which the workers' counters do not reach.
    assert value(after, "pilotops_payout_attempts_last_hour", outcome="refused") == 1
    assert value(after, "pilotops_payout_attempts_last_hour", outcome="succeeded") == 0
    assert value(after, "pilotops_breached_open_tickets", priority="P0") == 1
    assert value(after, "pilotops_breached_open_tickets", priority="P2") == 0
    open_p0 = Ticket.objects.filter(priority="P0").exclude(status__in=["resolved", "closed"])
    assert value(after, "pilotops_open_tickets", priority="P0") == open_p0.count()
    assert value(after, "pilotops_open_tickets", priority="P2") == 1  # the payout failure's ticket
    assert (
        value(after, "pilotops_payments", status="pending")
        == Payment.objects.filter(status="pending").count()
    )
    assert value(after, "pilotops_open_incidents", severity="SEV1") == 1
    assert 0 <= value(after, "pilotops_beat_heartbeat_age_seconds") < 60
    assert ("pilotops_site_quality_average_24h", (("business", slug),)) in after
    assert ("pilotops_site_in_peak_hours", (("business", slug),)) in after


def test_every_metric_the_alert_rules_use_is_exposed(client, open_code):
    from pilots.models import ProbeRun

    heartbeat_record()
    run_job("tickets_auto_close", key="test")
    ProbeRun.objects.create(started_at=timezone.now(), ok=True, latency_ms=80)
    client.get(f"/q/{open_code.token}/")
    client.post(f"/q/{open_code.token}/", feedback_post())
    rules = (PROJECT_DIR / "deploy" / "prometheus" / "alerts.yml").read_text()
    samples = scrape(client)
    exposed = {name for name, _ in samples}

    used = set(re.findall(r"\b(pilotops_[a-z0-9_]+|django_[a-z0-9_]+)\b", rules))
    assert used, "the rules use metrics"
    assert used - exposed == set()
    cadences_watched = set(re.findall(r'cadence="([a-z0-9_]+)"', rules))
    assert cadences_watched == {job.cadence.replace(" ", "_") for job in JOBS.values()}
    assert (
        "pilotops_job_last_success_timestamp",
        (("cadence", "weekly"), ("job", "tickets_auto_close")),
    ) in samples
