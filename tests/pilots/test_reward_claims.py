"""Claiming a reward: from the thanks page or the e-mailed link to Stripe onboarding."""

import re

import pytest
from django.core import mail, signing

from pilots.claims import CLAIM_SALT, claim_token
from pilots.models import RewardRecipient
from tests.conftest import feedback_post

pytestmark = pytest.mark.django_db


def thanks_page(client, code):
    return client.post(f"/q/{code.token}/", feedback_post(), follow=True).content.decode()


def claim_path(page: str) -> str:
    return re.search(r'action="(/rewards/claim/[^"?]+/)', page).group(1)


def test_claim_from_the_thanks_page_goes_to_stripe_onboarding(client, open_code, stripe_fake):
    page = thanks_page(client, open_code)
    assert "Hämta din belöning" in page

    response = client.post(claim_path(page))

    recipient = RewardRecipient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{stripe_fake.url}/onboarding/{recipient.stripe_account_id}"
    assert recipient.onboarding == RewardRecipient.Onboarding.PENDING


def test_claiming_twice_reuses_the_stripe_account(client, open_code, stripe_fake):
    path = claim_path(thanks_page(client, open_code))

    client.post(path)
    client.post(path)

    assert len(stripe_fake.state.accounts) == 1


def test_claim_link_is_emailed_and_opens_a_page_that_explains_the_next_step(
    client, open_code, stripe_fake, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        thanks_page(client, open_code)
    link = re.search(r"https?://\S+/rewards/claim/\S+/", mail.outbox[0].body).group(0)

    path = "/rewards/" + link.split("/rewards/", 1)[1]
    page = client.get(path + "?lang=en")

    assert page.status_code == 200
    assert "Continue to Stripe" in page.content.decode()


def test_claim_link_expires_after_30_days(client, open_code, stripe_fake, settings):
    thanks_page(client, open_code)
    recipient = RewardRecipient.objects.get()
    settings.CLAIM_LINK_MAX_AGE_DAYS = -1  # every link is already too old

    response = client.get(f"/rewards/claim/{claim_token(recipient)}/?lang=en")

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()


def test_forged_claim_link_is_refused(client, open_code, stripe_fake):
    forged = signing.dumps(1, salt="another purpose")

    assert client.post(f"/rewards/claim/{forged}/").status_code == 410
    assert signing.dumps(1, salt=CLAIM_SALT) != forged


def test_claim_without_stripe_says_rewards_are_paused(client, open_code, settings):
    page = thanks_page(client, open_code)
    settings.STRIPE_SECRET_KEY = ""

    response = client.post(claim_path(page) + "?lang=en")

    assert response.status_code == 503
    assert "Your reward is safe" in response.content.decode()


def test_return_page_says_what_happens_next(client, open_code, stripe_fake):
    thanks_page(client, open_code)
    recipient = RewardRecipient.objects.get()

    response = client.get(f"/rewards/claimed/{claim_token(recipient)}/?lang=en")

    assert response.status_code == 200
    assert "Stripe is checking your details" in response.content.decode()
