"""Chaos: rewards paid exactly once under lost answers, killed processes and unruly webhooks.

A fault-injecting proxy stands in front of the Stripe fake. Payout runners
are separate OS processes; people act on every payment while they work;
webhooks arrive three times each, out of order, early and late. Then the
faults stop and the product must settle by itself. At quiescence, what
Stripe transferred must equal what Pilot Ops paid, recipient by recipient,
to the öre, and nothing may be left unsettled. Each scenario prints its figures.
"""

import collections
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import Event
from pilots import payments, stripe_events
from pilots.models import Payment, Payout, PayoutAttempt, StripeEvent
from tests.celery_processes import worker_database_url
from tests.conftest import PROJECT_DIR, payable_payments_create, stripe_env
from tests.fault_proxy import FAULTS, fault_proxy

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 20261130
TRANSFERS = "/v1/transfers"
CHAOS_SETTINGS = {
    "STRIPE_TIMEOUT_SECONDS": 0.5,
    "PAYOUT_STUCK_SECONDS": 3,
    "PAYOUT_BACKOFF_BASE_SECONDS": 0,
    "PAYOUT_RUN_LEASE_SECONDS": 3,
    # Few tries, so that payouts also go through "needs attention" and are settled from there.
    "PAYOUT_MAX_ATTEMPTS": 2,
}


class Chaos:
    """The proxy, the runner processes and the test's own hands (people, webhooks)."""

    def __init__(self, fake, proxy, stop_file):
        self.fake, self.proxy, self.stop_file = fake, proxy, stop_file
        self.processes: list[subprocess.Popen] = []
        self.random = random.Random(SEED)
        self.client = Client()
        self.actions = collections.Counter()
        self.webhooks = collections.Counter()

    def start(self, mode: str = "run") -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            **stripe_env(self.fake),
            "STRIPE_API_BASE": self.proxy.url,
            **{name: str(value) for name, value in CHAOS_SETTINGS.items()},
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        log = self.stop_file.with_name(f"runner-{len(self.processes)}.log")
        with log.open("w") as output:  # a file, not a pipe: nobody reads while it runs
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.payout_runner", mode, str(self.stop_file)],
                cwd=PROJECT_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        process.log = log
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        self.stop_file.touch()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.returncode not in (0, -signal.SIGKILL):
                output = process.log.read_text()[-5000:]
                raise AssertionError(f"a runner failed ({process.returncode}):\n{output}")

    # --- people ----------------------------------------------------------------
    def act_on(self, payment: Payment) -> None:
        """What a manager might try on a payment: it is refused whenever it is unsafe."""
        action = self.random.choices(["retry", "mark paid", "cancel"], weights=[6, 2, 2])[0]
        try:
            if action == "retry":
                payments.payment_retry(payment=payment)
            elif action == "mark paid":
                payments.payment_mark_paid(payment=payment, reason="paid by Swish at the till")
            else:
                payments.payment_cancel(payment=payment, reason="chaos drill")
        except payments.PaymentError:
            self.actions[f"{action} refused"] += 1
        else:
            self.actions[f"{action} done"] += 1

    # --- Stripe's webhooks --------------------------------------------------------
    def deliver_webhooks(self, *, share: float = 1.0) -> None:
        """transfer.created for (a share of) Stripe's transfers, shuffled; the same event ids."""
        transfers = self.fake.transfers()
        self.random.shuffle(transfers)
        for transfer in transfers[: max(1, int(len(transfers) * share))] if transfers else []:
            payload, signature = self.fake.signed_event(
                "transfer.created", transfer, event_id=f"evt_created_{transfer['id']}"
            )
            response = self.client.post(
                "/webhooks/stripe/",
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
            assert response.status_code == 200, response.content
            self.webhooks["delivered"] += 1

    def settle(self, *, within: float) -> float:
        """Act as the product and a manager would until nothing is open; the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            for payment in Payment.objects.filter(status=Payment.Status.FAILED):
                payments.payment_retry(payment=payment)
                self.actions["retry of a failed payment"] += 1
            open_payouts = Payout.objects.filter(status__in=Payout.UNSETTLED).exists()
            open_payments = Payment.objects.filter(
                status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING]
            ).exists()
            if not open_payouts and not open_payments:
                return time.monotonic() - started
            time.sleep(0.5)
        raise AssertionError(
            "not settled in time: "
            f"{list(Payout.objects.values_list('pk', 'status', 'last_error'))[:10]}"
        )


@pytest.fixture
def chaos(open_code, enrolled, stripe_fake, settings, tmp_path):
    with fault_proxy(stripe_fake.url, seed=SEED, hang_seconds=0.8) as proxy:
        settings.STRIPE_API_BASE = proxy.url
        for name, value in CHAOS_SETTINGS.items():
            setattr(settings, name, value)
        world = Chaos(stripe_fake, proxy, tmp_path / "stop")
        try:
            yield world
        finally:
            world.stop_file.touch()
            proxy.release_all()
            for process in world.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def settled_exactly_once(chaos: Chaos) -> dict[str, int]:
    """Everything the scenario must end with; returns the figures it found."""
    transfers = chaos.fake.transfers()
    payouts_by_key = {p.idempotency_key: p for p in Payout.objects.select_related("recipient")}
    # One transfer per payout key, and each is a paid payout's transfer, to the öre.
    assert max(collections.Counter(t["transfer_group"] for t in transfers).values(), default=1) == 1
    for transfer in transfers:
        payout = payouts_by_key[transfer["transfer_group"]]
        assert payout.status == Payout.Status.PAID, (payout.pk, payout.status)
        assert payout.stripe_transfer_id == transfer["id"]
        assert payout.amount == transfer["amount"]
        assert payout.recipient.stripe_account_id == transfer["destination"]
    paid_payouts = Payout.objects.filter(status=Payout.Status.PAID)
    assert {p.stripe_transfer_id for p in paid_payouts} == {t["id"] for t in transfers}, (
        "0 paid without a transfer"
    )
    # Per recipient, to the öre.
    at_stripe = collections.Counter()
    for transfer in transfers:
        at_stripe[transfer["destination"]] += transfer["amount"]
    here = collections.Counter()
    for payout in paid_payouts.select_related("recipient"):
        here[payout.recipient.stripe_account_id] += payout.amount
    assert at_stripe == here
    # No payment is in two paid payouts, and none paid by hand was also transferred.
    payouts_of = collections.defaultdict(set)
    for event in Event.objects.filter(action="payout_created"):
        for payment_id in event.data["payments"]:
            payouts_of[payment_id].add(event.subject_id)
    paid_ids = set(paid_payouts.values_list("pk", flat=True))
    for payment in Payment.objects.all():
        transferred = payouts_of[payment.pk] & paid_ids
        assert len(transferred) <= 1, f"payment {payment.pk} is in payouts {transferred}"
        if payment.status == Payment.Status.PAID and not payment.manual_reason:
            assert transferred == {payment.payout_id}
        else:
            assert not transferred, f"payment {payment.pk} ({payment.status}) was transferred"
    # Nothing left unsettled, no attempt left without an outcome.
    assert not Payout.objects.filter(status__in=Payout.UNSETTLED).exists()
    assert not Payment.objects.filter(
        status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING, Payment.Status.FAILED]
    ).exists()
    assert not PayoutAttempt.objects.filter(outcome=PayoutAttempt.Outcome.STARTED).exists()
    paid_by_transfer = sum(
        Payment.objects.filter(status=Payment.Status.PAID, manual_reason="").values_list(
            "amount", flat=True
        )
    )
    assert paid_by_transfer == sum(t["amount"] for t in transfers)
    return {
        "payments": Payment.objects.count(),
        "transfers": len(transfers),
        "öre transferred": sum(t["amount"] for t in transfers),
        "paid by transfer": Payment.objects.filter(
            status=Payment.Status.PAID, manual_reason=""
        ).count(),
        "paid by hand": Payment.objects.exclude(manual_reason="").count(),
        "cancelled": Payment.objects.filter(status=Payment.Status.CANCELLED).count(),
        "payouts": Payout.objects.count(),
        "payouts failed (no transfer)": Payout.objects.filter(status=Payout.Status.FAILED).count(),
        "payouts that needed attention": Event.objects.filter(
            action="payout_needs_attention"
        ).count(),
        "transfer requests": sum(
            1
            for method, path, _ in chaos.fake.state.requests
            if (method, path) == ("POST", TRANSFERS)
        ),
    }


def reconciled(chaos: Chaos) -> int:
    counts = stripe_events.stripe_reconcile(
        start=timezone.now() - timedelta(days=1), end=timezone.now() + timedelta(minutes=1)
    )
    assert counts["mismatches"] == 0, counts
    return counts["transfers at Stripe"]


def report(capsys, scenario: str, figures: dict, chaos: Chaos, seconds: float) -> None:
    line = ", ".join(f"{value} {name}" for name, value in figures.items())
    faults = ", ".join(f"{chaos.proxy.counts[kind]} {kind}" for kind in ("pass", *FAULTS))
    people = ", ".join(f"{n} {what}" for what, n in sorted(chaos.actions.items()))
    with capsys.disabled():
        print(f"\n[payout chaos] {scenario} ({seconds:.1f} s): {line}")
        print(f"[payout chaos]   requests through the proxy: {faults}")
        if people:
            print(f"[payout chaos]   people: {people}")
        print(f"[payout chaos]   webhooks delivered: {chaos.webhooks['delivered']}")


# ------------------------------------------------------------------------------
# Two runners, 200 payments, every fault, people and webhooks at once
# ------------------------------------------------------------------------------
def test_chaos_two_runners_under_every_fault_pay_each_reward_exactly_once(
    chaos, open_code, enrolled, stripe_fake, capsys
):
    started = time.monotonic()
    payable_payments_create(open_code, enrolled, stripe_fake, recipients=50, each=4)
    chaos.proxy.faults(0.2)  # 20 % each: 500 before, 500 after, timeout after, reset
    for _ in range(2):
        chaos.start("run")

    payment_ids = list(Payment.objects.values_list("pk", flat=True))
    chaos.random.shuffle(payment_ids)
    for n, payment_id in enumerate(payment_ids):
        chaos.act_on(Payment.objects.get(pk=payment_id))
        if n % 40 == 0:
            chaos.deliver_webhooks(share=0.5)  # early, some twice
        time.sleep(0.05)
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and Payment.objects.filter(
            status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING]
        ).exists()
    ):
        time.sleep(0.5)
    chaos.deliver_webhooks(share=0.5)
    faulted = dict(chaos.proxy.counts)

    chaos.proxy.calm()
    chaos.settle(within=150)
    chaos.stop()
    chaos.deliver_webhooks()  # late, the third delivery of many
    transfers_checked = reconciled(chaos)

    figures = settled_exactly_once(chaos)
    requests = sum(faulted.values())
    assert requests >= 150
    # Dealt in decks of five (one of each fault, one pass): 20 % each over every full deck.
    assert all(faulted.get(kind, 0) >= requests // 5 for kind in FAULTS), faulted
    assert StripeEvent.objects.filter(deliveries__gte=2).exists()
    assert transfers_checked == figures["transfers"]
    report(
        capsys,
        "two runners, 200 payments, 20 % of each fault",
        figures,
        chaos,
        time.monotonic() - started,
    )


# ------------------------------------------------------------------------------
# kill -9 at the worst moments
# ------------------------------------------------------------------------------
def _killed_mid_request(chaos: Chaos, *, stage: str) -> subprocess.Popen:
    hold = chaos.proxy.hold_next("POST", TRANSFERS, stage=stage)
    runner = chaos.start("run")
    assert hold.reached.wait(timeout=60), "the runner's transfer request reached the proxy"
    chaos.kill(runner)
    chaos.proxy.release_all()
    return runner


@pytest.mark.parametrize(
    ("stage", "transfers_when_killed"),
    [("before", 0), ("after", 1)],
    ids=["killed before its request reached Stripe", "killed after Stripe made the transfer"],
)
def test_chaos_runner_killed_mid_request_is_settled_by_the_next_run_once(
    chaos, open_code, enrolled, stripe_fake, capsys, stage, transfers_when_killed
):
    started = time.monotonic()
    payable_payments_create(open_code, enrolled, stripe_fake, recipients=3, each=2)

    _killed_mid_request(chaos, stage=stage)

    assert len(stripe_fake.transfers()) == transfers_when_killed
    killed_payout = Payout.objects.get(status=Payout.Status.PROCESSING)
    assert killed_payout.attempts_made.get().outcome == PayoutAttempt.Outcome.STARTED
    chaos.start("run")
    chaos.settle(within=60)
    chaos.stop()
    chaos.deliver_webhooks()
    chaos.deliver_webhooks()
    chaos.deliver_webhooks()

    figures = settled_exactly_once(chaos)
    killed_payout.refresh_from_db()
    outcomes = list(killed_payout.attempts_made.values_list("outcome", flat=True))
    assert outcomes[0] == PayoutAttempt.Outcome.UNKNOWN, "the killed attempt became unknown"
    assert outcomes.count(PayoutAttempt.Outcome.SUCCEEDED) == (1 if stage == "before" else 0)
    assert figures["transfers"] == 3
    assert reconciled(chaos) == 3
    report(capsys, f"runner killed {stage} its request", figures, chaos, time.monotonic() - started)


def test_chaos_killed_during_recovery_with_two_recoveries_at_once(
    chaos, open_code, enrolled, stripe_fake, capsys
):
    started = time.monotonic()
    payable_payments_create(open_code, enrolled, stripe_fake, recipients=4, each=1)
    _killed_mid_request(chaos, stage="after")  # one payout abandoned, its transfer made
    time.sleep(CHAOS_SETTINGS["PAYOUT_STUCK_SECONDS"] + 0.5)
    lookups = [chaos.proxy.hold_next("GET", TRANSFERS, stage="before") for _ in range(2)]

    recoverers = [chaos.start("recover") for _ in range(2)]
    assert lookups[0].reached.wait(timeout=60), "a recovery is asking Stripe"
    chaos.kill(recoverers[0])
    chaos.proxy.release_all()
    chaos.start("run")
    chaos.settle(within=60)
    chaos.stop()
    chaos.deliver_webhooks()

    figures = settled_exactly_once(chaos)
    assert figures["transfers"] == 4
    assert reconciled(chaos) == 4
    report(
        capsys,
        "killed during recovery, two recoveries at once",
        figures,
        chaos,
        time.monotonic() - started,
    )
