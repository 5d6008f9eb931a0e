"""Claiming a reward: only through the link sent to the contact, only by its owner."""

import re

import pytest
from django.core import signing

from core.models import Message
from pilots import payments
from pilots.claims import CLAIM_SALT, claim_token
from pilots.models import Payment, RewardRecipient
from pilots.services import qr_codes_generate
from tests.conftest import (
    claim_path_of,
    feedback_post,
    good_feedback_submit,
    outbox_delivered,
    recipient_verified,
)

pytestmark = pytest.mark.django_db


def thanks_page(client, code, **changes) -> str:
    response = client.post(f"/q/{code.token}/", feedback_post(**changes), follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_thanks_page_has_no_claim_link_and_says_where_the_link_went(client, open_code):
    page = thanks_page(client, open_code)

    assert "/rewards/claim/" not in page
    assert "Vi har mejlat detaljerna till a***@example.se" in page
    assert "anna@example.se" not in page


def test_claim_link_is_emailed_and_leads_to_stripe_onboarding(client, open_code, stripe_fake):
    thanks_page(client, open_code)
    (email,) = outbox_delivered()
    assert email.to == ["anna@example.se"]
    path = re.search(r"https?://\S+(/rewards/claim/\S+/)", email.body).group(1)

    page = client.get(path + "?lang=en")
    response = client.post(path)

    recipient = RewardRecipient.objects.get()
    assert "Continue to Stripe" in page.content.decode()
    assert recipient.contact_verified_at is not None
    assert response.status_code == 302
    assert response["Location"] == f"{stripe_fake.url}/onboarding/{recipient.stripe_account_id}"
    assert recipient.onboarding == RewardRecipient.Onboarding.PENDING


def test_the_claim_email_is_plain_text_a_cafe_name_with_an_ampersand_reads_as_typed(
    client, open_code
):
    business = open_code.business
    business.name = "Kaffe & <Bullar>"
    business.save(update_fields=["name"])

    thanks_page(client, open_code)
    (email,) = outbox_delivered()

    assert "Kaffe & <Bullar>" in email.body
    assert "&amp;" not in email.body and "&lt;" not in email.body


def test_claiming_twice_reuses_the_stripe_account(client, open_code, stripe_fake):
    thanks_page(client, open_code)
    path = claim_path_of(RewardRecipient.objects.get())

    client.post(path)
    client.post(path)

    assert len(stripe_fake.state.accounts) == 1


def test_hijack_typing_a_strangers_email_elsewhere_gives_no_way_to_their_rewards(
    client, open_code, make_business, enrolled, stripe_fake
):
    """The victim has claimed; an attacker types the victim's address at another café."""
    victim = RewardRecipient.objects.get(
        pk=good_feedback_submit(
            open_code, contact_email="eva@example.se", consent=True
        ).payment.recipient.pk
    )
    recipient_verified(client, victim)
    client.post(claim_path_of(victim))
    victim.refresh_from_db()
    account = victim.stripe_account_id
    other = make_business("Café Berget")
    from pilots.services import enrollment_create

    enrollment_create(pilot=enrolled.pilot, business=other)
    (elsewhere,) = qr_codes_generate(business=other, placements=["Bar"])
    from tests.conftest import Client

    attacker = Client()  # posts forms URL-encoded, as a browser does

    page = thanks_page(attacker, elsewhere, contact="EVA@example.se")

    assert "/rewards/claim/" not in page
    assert RewardRecipient.objects.count() == 1, "the same contact is the same recipient"
    victim.refresh_from_db()
    assert victim.stripe_account_id == account, "nothing about the account moved"
    # The message about the new reward went to the victim's address, not to the attacker.
    newest = Message.objects.order_by("-id").first()
    assert newest.recipient == "eva@example.se"
    # A link the attacker forges for the victim's recipient opens nothing.
    forged = signing.dumps({"r": victim.pk, "m": newest.pk + 1000}, salt=CLAIM_SALT, compress=True)
    assert attacker.get(f"/rewards/claim/{forged}/").status_code == 410
    assert attacker.post(f"/rewards/claim/{forged}/").status_code == 410


def test_claim_link_of_one_recipient_cannot_name_another(client, open_code, stripe_fake):
    first = good_feedback_submit(open_code, contact_email="eva@example.se", consent=True)
    second = good_feedback_submit(
        open_code, client_hash="b" * 64, contact_email="ola@example.se", consent=True
    )
    outbox_delivered()
    eva_message = Message.objects.get(recipient="eva@example.se")

    mixed = claim_token(recipient=second.payment.recipient, message=eva_message)

    assert client.get(f"/rewards/claim/{mixed}/").status_code == 410
    assert first.payment.recipient.pk != second.payment.recipient.pk


def test_claim_link_works_only_once_its_message_is_delivered(client, open_code, stripe_fake):
    feedback = good_feedback_submit(open_code, contact_email="eva@example.se", consent=True)
    message = Message.objects.get()
    path = f"/rewards/claim/{claim_token(recipient=feedback.payment.recipient, message=message)}/"

    assert client.get(path).status_code == 410, "not yet sent: nobody can have read it"
    outbox_delivered()
    assert client.get(path).status_code == 200


def test_claim_start_is_refused_until_the_contact_is_proven(open_code, stripe_fake):
    feedback = good_feedback_submit(open_code, contact_email="eva@example.se", consent=True)

    with pytest.raises(payments.ContactNotVerified):
        payments.recipient_claim_start(
            recipient=feedback.payment.recipient, refresh_url="http://x/", return_url="http://x/"
        )
    assert stripe_fake.state.accounts == {}


@pytest.mark.parametrize(
    "spelling", ["+46701234567", "0046701234567", "46701234567", "070-123 45 67", "٠٧٠١٢٣٤٥٦٧"]
)
def test_phone_spellings_are_one_recipient_in_e164(client, open_code, spelling, sms_fake):
    good_feedback_submit(open_code, contact_phone="+46701234567", consent=True)

    page = thanks_page(client, open_code, contact=spelling)

    assert RewardRecipient.objects.get().contact_phone == "+46701234567"
    assert set(Payment.objects.values_list("recipient", flat=True)) == {
        RewardRecipient.objects.get().pk
    }
    assert "Vi har skickat detaljerna med sms till +46*******67" in page


@pytest.mark.parametrize(
    ("contact", "language", "error"),
    [
        ("+46 70 12", "sv", "Ange ett giltigt mobilnummer."),
        ("+46 70 12", "en", "Enter a valid mobile number."),
        ("08-123 456 78", "sv", "Det är inte ett mobilnummer"),
        ("İLKER@example.com", "en", "Enter a valid e-mail address."),
    ],
)
def test_invalid_contact_is_a_form_error_in_the_customers_language(
    client, open_code, contact, language, error
):
    response = client.post(f"/q/{open_code.token}/?lang={language}", feedback_post(contact=contact))

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not RewardRecipient.objects.exists()


def test_phone_only_reward_gets_its_claim_link_by_sms(client, open_code, sms_fake, stripe_fake):
    thanks_page(client, open_code, contact="070-123 45 67")
    outbox_delivered()

    (text,) = sms_fake.sent()
    path = re.search(r"(/rewards/claim/\S+/)", text["message"]).group(1)
    assert text["to"] == "+46701234567"
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    assert RewardRecipient.objects.get().stripe_account_id


def test_held_reward_sends_a_notice_and_its_claim_link_comes_on_release(
    client, open_code, settings
):
    settings.REWARD_LIMIT_PER_CLIENT_DAY = 0
    page = thanks_page(client, open_code)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.HELD
    assert "Vi har mejlat detaljerna till a***@example.se" in page, "the same page either way"
    (notice,) = Message.objects.all()
    assert "/rewards/claim/" not in notice.body

    payments.payment_release(payment=payment)

    assert "/rewards/claim/" in Message.objects.order_by("-id").first().body


def test_claim_link_expires_after_30_days(client, open_code, settings):
    thanks_page(client, open_code)
    path = claim_path_of(RewardRecipient.objects.get())
    settings.CLAIM_LINK_MAX_AGE_DAYS = -1  # every link is already too old

    response = client.get(path + "?lang=en")

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()


def test_forged_claim_link_is_refused(client, open_code):
    forged = signing.dumps({"r": 1, "m": 1}, salt="another purpose")

    assert client.post(f"/rewards/claim/{forged}/").status_code == 410
    assert client.get("/rewards/claim/not-a-token/").status_code == 410


def test_claim_without_stripe_says_rewards_are_paused(client, open_code, settings):
    thanks_page(client, open_code)
    path = claim_path_of(RewardRecipient.objects.get())
    settings.STRIPE_SECRET_KEY = ""

    response = client.post(path + "?lang=en")

    assert response.status_code == 503
    assert "Your reward is safe" in response.content.decode()


def test_return_page_says_what_happens_next(client, open_code, stripe_fake):
    thanks_page(client, open_code)
    path = claim_path_of(RewardRecipient.objects.get())

    response = client.get(path.replace("/claim/", "/claimed/") + "?lang=en")

    assert response.status_code == 200
    assert "Stripe is checking your details" in response.content.decode()
