"""Two payout runs at once, in two processes, pay every payment exactly once."""

import collections
import os
import subprocess
import sys

import pytest

from pilots.models import Payment, Payout
from tests.celery_processes import worker_database_url
from tests.conftest import PROJECT_DIR, payable_payments_create, stripe_env

RECIPIENTS = 50
PAYMENTS_EACH = 4


@pytest.fixture
def payable_payments(open_code, enrolled, stripe_fake):
    """200 pending payments of 10 kr, four for each of 50 payable recipients."""
    payable_payments_create(
        open_code, enrolled, stripe_fake, recipients=RECIPIENTS, each=PAYMENTS_EACH
    )
    return stripe_fake


def payout_run_process(fake) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": worker_database_url(), **stripe_env(fake)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "payout_run"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_parallel_payout_runs_make_one_transfer_per_payout(payable_payments):
    fake = payable_payments

    runs = [payout_run_process(fake) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]

    for run, (_out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    transfers = fake.transfers()
    per_group = collections.Counter(t["transfer_group"] for t in transfers)
    payouts = Payout.objects.all()
    assert payouts.count() == RECIPIENTS
    assert set(payouts.values_list("status", flat=True)) == {Payout.Status.PAID}, list(
        payouts.exclude(status=Payout.Status.PAID).values_list("last_error", flat=True)
    )
    assert set(per_group.values()) == {1}, "one transfer per payout"
    assert set(per_group) == set(payouts.values_list("idempotency_key", flat=True))
    assert set(Payment.objects.values_list("status", flat=True)) == {Payment.Status.PAID}
    paid_in_db = sum(Payment.objects.values_list("amount", flat=True))
    assert sum(t["amount"] for t in transfers) == paid_in_db == 200 * 1000
    for payout in payouts:
        transfer = next(t for t in transfers if t["id"] == payout.stripe_transfer_id)
        assert transfer["amount"] == payout.amount == PAYMENTS_EACH * 1000
        assert transfer["destination"] == payout.recipient.stripe_account_id
