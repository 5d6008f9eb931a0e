"""The pilots back office pages outside its model admins, for the Swedish page check."""

from datetime import timedelta

from django.utils import timezone

PAGES: list[str] = []


def make_rows() -> None:
    """What the demo lacks, so that every pilots change page is read: a tag, a payout with
    an attempt, a probe run and a Stripe event."""
    from pilots.models import (
        Business,
        Payout,
        PayoutAttempt,
        ProbeRun,
        RewardRecipient,
        StripeEvent,
        Tag,
    )

    now = timezone.now()
    tag, _ = Tag.objects.get_or_create(name="Södermalm")
    business = Business.objects.order_by("pk").first()
    if business is not None:
        business.tags.add(tag)
    recipient = RewardRecipient.objects.order_by("pk").first() or RewardRecipient.objects.create(
        contact_hash="0" * 64
    )
    if not Payout.objects.exists():
        payout = Payout.objects.create(
            recipient=recipient,
            amount=1000,
            status=Payout.Status.FAILED,
            idempotency_key="back-office-pages-payout",
            attempts=1,
            no_transfer_confirmed_at=now,
        )
        PayoutAttempt.objects.create(
            payout=payout,
            number=1,
            started_at=now - timedelta(seconds=5),
            finished_at=now,
            outcome=PayoutAttempt.Outcome.REFUSED,
        )
    if not ProbeRun.objects.exists():
        ProbeRun.objects.create(started_at=now, ok=True, latency_ms=180, status_code=200)
    if not StripeEvent.objects.exists():
        StripeEvent.objects.create(
            stripe_id="evt_back_office_pages",
            type="transfer.created",
            payload={"id": "evt_back_office_pages"},
            processed_at=now,
        )
