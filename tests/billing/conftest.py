"""Billing fixtures: the three plans synced to the Stripe fake, and webhook delivery."""

import pytest

from billing import services
from billing.models import Plan
from core.flags import OFF, Feature, rules_invalidate

URL = "/webhooks/stripe/"

# Features plans grant in these tests: stored flags, switched off for everyone.
INSIGHTS = Feature(name="weekly_insights", description="Weekly insights e-mail.")
EXPORTS = Feature(name="feedback_exports", description="Feedback exports.")


@pytest.fixture
def plans(db, stripe_fake) -> dict[str, Plan]:
    """Bas, Plus and Pro (seeded by the migration), with features, synced to the fake.

    The features' flags are stored *off*: only a plan turns them on for a business.
    """
    from rollouts.models import Flag

    for feature in (INSIGHTS, EXPORTS):
        Flag.objects.create(name=feature.name, state=OFF)
    rules_invalidate()
    Plan.objects.filter(name="Plus").update(features=[INSIGHTS.name])
    Plan.objects.filter(name="Pro").update(features=[INSIGHTS.name, EXPORTS.name])
    services.plans_sync()
    return {plan.name: plan for plan in Plan.objects.all()}


def deliver(client, fake, event: dict):
    """One of the fake's recorded events, signed and posted to the webhook endpoint."""
    payload, signature = fake.signed_event(
        event["type"], event["object"], event_id=event["id"], created=event["created"]
    )
    return client.post(
        URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def deliver_all(client, fake, events: list[dict]) -> None:
    for event in events:
        response = deliver(client, fake, event)
        assert response.status_code == 200, response.content
