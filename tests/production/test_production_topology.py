"""The production topology, proven: a whole journey over HTTP, then fault drills.

deploy/run-local runs Pilot Ops as production does (gunicorn with 4
workers, 2 Celery workers, 1 beat) on PostgreSQL and its own Redis. The
tests run in order, as one story: the journey, then each drill, each
followed by a check that nothing was lost and nothing was done twice; the
last test checks that the counts at the end equal the journey's.

Run with ``make test-production`` (DATABASE_URL must name PostgreSQL; the
suite makes a scratch database next to it and starts its own Redis).
"""

import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from core.metrics import GAUGE_CACHE_SECONDS
from tests.conftest import PROJECT_DIR, SPECIFIC_COMMENT
from tests.production.topology import (
    CSRF_FIELD,
    WEBHOOK_SECRET,
    Topology,
    production_topology,
    wait_for,
)
from tests.stripe_fake import StripeFake

pytestmark = pytest.mark.production

SETUP = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from core import roles
from pilots import services
from pilots.models import Business, Pilot
from support.models import SLAPolicy
from support.services import staff_link_issue

today = timezone.localdate()
business = Business.objects.create(
    name="Café Aurora", slug="cafe-aurora", city="Stockholm",
    expected_daily_customers=500, status=Business.Status.ACTIVE,
)
pilot = Pilot.objects.create(
    name="Production pilot", slug="production-pilot",
    starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=30),
)
services.pilot_activate(pilot=pilot)
services.enrollment_create(pilot=pilot, business=business)
codes = services.qr_codes_generate(business=business, placements=["Table 1", "Table 2"])
link = staff_link_issue(business=business)
# P1 (what staff report as an outage) warns after 30 s and breaches after a minute.
SLAPolicy.objects.filter(priority="P1").update(first_response_minutes=1, warning_share=0.5)
lead = get_user_model().objects.create_user(
    "lead", email="lead@example.se", password=None, is_staff=True
)
lead.groups.add(Group.objects.get(name=roles.SUPPORT_LEADS))
result = {
    "codes": [code.token for code in codes],
    "staff": link.token,
    "reward": pilot.reward_amount,
}
"""

COUNTS = """
from core.models import DeadLetter
from pilots.models import Feedback, Payment, StripeEvent
from support.models import Ticket, TicketEvent
result = {
    "feedback": Feedback.objects.filter(is_synthetic=False).count(),
    "payments": sorted(Payment.objects.values_list("status", flat=True)),
    "events_unprocessed": StripeEvent.objects.filter(processed_at__isnull=True).count(),
    "events_failed": StripeEvent.objects.exclude(error="").count(),
    "tickets": list(
        Ticket.objects.filter(source=Ticket.Source.STAFF_LINK).values_list("reference", flat=True)
    ),
    "sla_marks": list(
        TicketEvent.objects.exclude(sla_mark="").values_list("ticket__reference", "sla_mark")
    ),
    "dead_letters": DeadLetter.objects.count(),
}
"""


@pytest.fixture(scope="module")
def topology():
    with production_topology() as running:
        yield running


@pytest.fixture(scope="module")
def journey(topology) -> dict:
    """What the journey made, for the drills and the final count."""
    return {**topology.query(SETUP), "customers": {}}


def submit_feedback(topology: Topology, code: str, email: str) -> None:
    url = f"{topology.url}/q/{code}/"
    customer = requests.Session()
    form = customer.get(url, timeout=15)
    assert form.status_code == 200, form.text
    answer = customer.post(
        url,
        data={
            "csrfmiddlewaretoken": CSRF_FIELD.search(form.text).group(1),
            "rating": "5",
            "categories": ["food_drink", "service"],
            "comment": f"{SPECIFIC_COMMENT} We sat at the window, {email.split('@')[0]}.",
            "contact": email,
            "consent": "on",
            "website": "",
        },
        headers={"Referer": url},
        timeout=15,
    )
    assert answer.status_code == 200 and "/thanks/" in answer.url, answer.text[:500]


def webhook(topology: Topology, event_type: str, obj: dict) -> None:
    body, signature = StripeFake(webhook_secret=WEBHOOK_SECRET).signed_event(
        event_type, obj, event_id=f"evt_{uuid.uuid4().hex}"
    )
    answer = requests.post(
        f"{topology.url}/webhooks/stripe/",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        timeout=15,
    )
    assert answer.status_code == 200, answer.text


def claim_reward(topology: Topology, email: str) -> str:
    """Follow the e-mailed claim link through Stripe onboarding; the recipient's account id."""
    (mail,) = wait_for(lambda: topology.mails_to(email), timeout=60, what=f"the mail to {email}")
    link = re.search(r"http://\S+/rewards/claim/\S+/", mail.get_body().get_content()).group(0)
    customer = requests.Session()
    page = customer.get(link, timeout=15)
    assert page.status_code == 200
    onward = customer.post(
        link,
        data={"csrfmiddlewaretoken": CSRF_FIELD.search(page.text).group(1)},
        headers={"Referer": link},
        allow_redirects=False,
        timeout=15,
    )
    assert onward.status_code == 302, onward.text[:500]
    onboarding = requests.get(onward.headers["Location"], timeout=15)
    assert onboarding.status_code == 200
    account = onboarding.json()
    assert account["payouts_enabled"]
    webhook(topology, "account.updated", account)
    return account["id"]


def transfers_to(topology: Topology, account: str) -> list[dict]:
    return [t for t in topology.transfers() if t["destination"] == account]


def scrape(topology: Topology) -> dict:
    text = topology.get("/metrics", headers=topology.bearer).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


# ------------------------------------------------------------------------------
# The journey
# ------------------------------------------------------------------------------
def test_journey_scan_feedback_reward_payout_webhook_paid(topology, journey):
    submit_feedback(topology, journey["codes"][0], "anna@example.se")
    account = claim_reward(topology, "anna@example.se")
    journey["customers"]["anna@example.se"] = account

    topology.run_job_now("payout_run", timeout=60, what="the payout run")
    (transfer,) = transfers_to(topology, account)
    webhook(topology, "transfer.created", transfer)

    payments = wait_for(
        lambda: (p := topology.query(COUNTS)["payments"]) == ["paid"] and p,
        timeout=60,
        what="the payment to be paid",
    )
    assert payments == ["paid"]
    assert transfer["amount"] == journey["reward"]
    assert len(topology.transfers()) == 1
    assert len(topology.mails_to("anna@example.se")) == 1


def test_journey_staff_report_ticket_sla_sweep_by_beat_email(topology, journey):
    url = f"{topology.url}/staff/{journey['staff']}/"
    staff = requests.Session()
    form = staff.get(url, timeout=15)
    assert form.status_code == 200
    reported = staff.post(
        url,
        data={
            "csrfmiddlewaretoken": CSRF_FIELD.search(form.text).group(1),
            "category": "outage",
            "description": "The card reader and the feedback page are both slow.",
            "reporter": "",
        },
        headers={"Referer": url},
        timeout=15,
    )
    reference = re.search(r"reported=([^&]+)", reported.url).group(1)
    journey["ticket"] = reference

    # No one touches the ticket: beat's minute sweep warns, then breaches, and mails the lead.
    def lead_told_of_breach():
        bodies = [mail.get_body().get_content() for mail in topology.mails_to("lead@example.se")]
        return any(reference in body and "response breach" in body for body in bodies) and bodies

    bodies = wait_for(lead_told_of_breach, timeout=200, what="the SLA mails", every=2)
    marks = topology.query(COUNTS)["sla_marks"]
    assert sorted(marks) == [[reference, "response:breach"], [reference, "response:warning"]]
    # A page reads "<priority> <reference> <what happened>: <title>", once per mark.
    news = [
        found.group(1)
        for body in bodies
        for line in body.splitlines()
        if (found := re.match(rf"P\d {re.escape(reference)} (.+?): ", line))
    ]
    assert sorted(item for item in news if item.startswith("response")) == [
        "response breach",
        "response warning",
    ]


# ------------------------------------------------------------------------------
# Fault drills
# ------------------------------------------------------------------------------
def test_drill_sigkill_a_worker_mid_task_the_other_redoes_it_and_pays_once(topology, journey):
    submit_feedback(topology, journey["codes"][1], "bob@example.se")
    account = claim_reward(topology, "bob@example.se")
    journey["customers"]["bob@example.se"] = account
    # Stripe makes the transfer at once but answers only after 10 s: kill the worker meanwhile.
    requests.post(
        f"{topology.stripe_url}/_fake/delay",
        params={"path": "/v1/transfers", "seconds": "10"},
        timeout=10,
    )

    run_id = topology.job_enqueue("payout_run")  # "Run payouts now"
    wait_for(lambda: transfers_to(topology, account), timeout=60, what="the transfer to start")
    holder, task_id = wait_for(
        lambda: topology.task_of_run(run_id), timeout=10, what="the worker holding the run"
    )
    survivor = {"worker1": "worker2", "worker2": "worker1"}[holder]
    topology.kill(holder, signal.SIGKILL)

    # acks_late: the task was never acknowledged, so Redis hands it to the other worker,
    # which takes the dead worker's run over and finishes it.
    wait_for(
        lambda: f"[{task_id}] succeeded" in topology.log(survivor).read_text(),
        timeout=90,
        what=f"{survivor} to redo the killed task",
    )
    assert f"[{task_id}] received" in topology.log(survivor).read_text()
    assert topology.run_outcome(run_id) == "ok"
    assert len(transfers_to(topology, account)) == 1  # the redone run did not pay again
    (transfer,) = transfers_to(topology, account)
    webhook(topology, "transfer.created", transfer)  # Stripe's word settles the lost answer
    wait_for(
        lambda: topology.query(COUNTS)["payments"] == ["paid", "paid"],
        timeout=60,
        what="both payments to be paid",
    )
    assert len(topology.transfers()) == 2
    wait_for(
        lambda: topology.status()["workers"]["alive"] == 1,
        timeout=60,
        what="the killed worker's heartbeat to go stale",
    )


def test_drill_redis_stops_and_restarts_liveness_stays_readiness_follows(topology):
    topology.redis.stop()
    try:
        outage = []
        for _ in range(6):
            outage.append(
                (
                    topology.get("/health/").status_code,
                    topology.get("/health/ready/", headers=topology.bearer),
                )
            )
            time.sleep(0.5)
    finally:
        topology.redis.start()

    assert [live for live, _ in outage] == [200] * len(outage)
    assert [ready.status_code for _, ready in outage] == [503] * len(outage)
    assert {"broker", "cache"} <= set(outage[-1][1].json()["failing"])
    assert "database" not in outage[-1][1].json()["failing"]
    wait_for(
        lambda: topology.get("/health/ready/").status_code == 200,
        timeout=60,
        what="readiness after Redis came back",
    )
    assert topology.get("/health/").status_code == 200
    # Queued work resumes: the surviving worker reconnects and runs what is sent now.
    topology.run_job_now("sla_sweep", timeout=90, what="a run queued after the outage")
    assert topology.status()["queues"] == {"celery": 0}


def test_drill_postgresql_connections_terminated_next_requests_succeed(topology, journey):
    for code in journey["codes"]:  # every gunicorn worker holds a persistent connection
        topology.get(f"/q/{code}/")
    terminated = topology.terminate_database_connections()
    assert terminated >= 1

    answers = [topology.get("/health/ready/").status_code for _ in range(12)]
    answers += [topology.get(f"/q/{journey['codes'][0]}/").status_code for _ in range(12)]
    answers += [topology.get("/admin/login/").status_code for _ in range(4)]

    assert [code for code in answers if code >= 500] == []
    topology.run_job_now("sla_sweep", timeout=60, what="a worker to reconnect and run a job")


def test_probe_fails_when_intake_is_switched_off_and_its_alert_fires(topology, tmp_path):
    def probe_now() -> dict:
        topology.run_job_now("probe", timeout=60, what="the probe to run")
        time.sleep(GAUGE_CACHE_SECONDS)  # /metrics recomputes its gauges at most this often
        return scrape(topology)

    assert probe_now()["pilotops_probe_success"] == 1
    topology.query(
        "from pilots.intake import intake_switch_set\n"
        "intake_switch_set(is_open=False, message='Maintenance')\n"
        "result = True"
    )
    try:
        samples = probe_now()
    finally:
        topology.query(
            "from pilots.intake import intake_switch_set\n"
            "intake_switch_set(is_open=True)\n"
            "result = True"
        )

    assert samples["pilotops_probe_success"] == 0
    assert samples["pilotops_probe_latency_seconds"] > 0
    assert_alert_fires(
        tmp_path,
        "PilotOpsProbeFailing",
        series="pilotops_probe_success",
        values=f"{samples['pilotops_probe_success']:.0f}x20",
        fires_at="12m",
        severity="critical",
    )
    assert topology.query(COUNTS)["feedback"] == 2  # the probe's submissions count nowhere


def assert_alert_fires(tmp_path, alert: str, *, series: str, values: str, fires_at: str, severity):
    """promtool: the project's rule ``alert`` fires on ``series`` taking ``values``."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian's prometheus package) is needed for the alert test"
    rules = PROJECT_DIR / "deploy" / "prometheus" / "alerts.yml"
    rule = rules.read_text().split(f"alert: {alert}\n", 1)[1]
    summary, runbook = (
        re.search(rf'{key}: "([^"]*)"', rule).group(1) for key in ("summary", "runbook")
    )
    test_file = tmp_path / f"{alert}_test.yml"
    test_file.write_text(
        f"""rule_files: ["{rules}"]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: {series}
        values: '{values}'
    alert_rule_test:
      - eval_time: {fires_at}
        alertname: {alert}
        exp_alerts:
          - exp_labels: {{severity: {severity}}}
            exp_annotations:
              summary: "{summary}"
              runbook: "{runbook}"
"""
    )
    checked = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_drill_beat_stops_readiness_stays_status_and_alert_name_it(topology, tmp_path):
    # Beat lived through the drills above: its heartbeats still arrive.
    wait_for(
        lambda: (
            topology.status()["scheduler"]["last_heartbeat_at"]
            and not topology.status()["scheduler"]["stale"]
        ),
        timeout=120,
        what="a fresh heartbeat from beat",
        every=2,
    )
    topology.kill("beat", signal.SIGTERM)

    status = wait_for(
        lambda: (s := topology.status())["scheduler"]["stale"] and s,
        timeout=160,
        what="the scheduler to be reported stale",
        every=2,
    )
    assert "scheduler" in status["stale"]
    assert topology.get("/health/ready/").status_code == 200
    age = wait_for(
        lambda: (a := scrape(topology).get("pilotops_beat_heartbeat_age_seconds", 0)) > 75 and a,
        timeout=30,
        what="the metric to show the stale beat",
    )

    # Before the beat stopped the age was below 300 s: quiet then, firing 10 minutes on.
    assert_alert_fires(
        tmp_path,
        "PilotOpsBeatStale",
        series="pilotops_beat_heartbeat_age_seconds",
        values=f"{age:.0f}+60x15",
        fires_at="10m",
        severity="high",
    )


def test_counts_at_the_end_equal_the_journeys(topology, journey):
    counts = topology.query(COUNTS)

    assert counts["feedback"] == 2
    assert counts["payments"] == ["paid", "paid"]
    assert counts["events_unprocessed"] == 0
    assert counts["events_failed"] == 0
    assert counts["tickets"] == [journey["ticket"]]
    assert len(counts["sla_marks"]) == len(set(map(tuple, counts["sla_marks"]))) == 2
    assert counts["dead_letters"] == 0
    transfers = topology.transfers()
    assert sorted(t["destination"] for t in transfers) == sorted(journey["customers"].values())
    for email in journey["customers"]:
        assert len(topology.mails_to(email)) == 1, f"{email} got its claim mail once"
