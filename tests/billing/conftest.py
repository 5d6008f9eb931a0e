"""Billing fixtures: the three plans synced to the Stripe fake, and webhook delivery."""

import pytest

from billing import services
from billing.models import Plan
from core.flags import feature_declare

URL = "/webhooks/stripe/"

# Features plans grant in these tests (declared like the code declares its features).
INSIGHTS = feature_declare("weekly_insights", "Weekly insights e-mail (a plan feature).")
EXPORTS = feature_declare("feedback_exports", "Feedback exports (a plan feature).")


@pytest.fixture
def plans(db, stripe_fake) -> dict[str, Plan]:
    """Bas, Plus and Pro (seeded by the migration), with features, synced to the fake."""
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
