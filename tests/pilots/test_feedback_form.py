"""The page behind a printed code: every state, the submission and the thanks page."""

import datetime
import html
import re

import pytest
from django.utils import timezone

from pilots import intake, services
from pilots.models import Business, Enrollment, Feedback, Pilot, ScanCount
from tests.conftest import Client, feedback_post

pytestmark = pytest.mark.django_db


def form_url(code) -> str:
    return f"/q/{code.token}/"


# --- states -------------------------------------------------------------------
def test_form_open_code_shows_the_form_in_swedish(client, open_code):
    response = client.get(form_url(open_code))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Vad tyckte du om Café Aurora?" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "Få din belöning: 10\u00a0kr" in page
    assert response["Content-Language"] == "sv"


def test_form_speaks_english_by_accept_language(client, open_code):
    response = client.get(form_url(open_code), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert "What did you think of Café Aurora?" in response.content.decode()


def test_form_language_switch_is_remembered(client, open_code):
    client.get(form_url(open_code) + "?lang=en")

    response = client.get(form_url(open_code))

    assert "What did you think of Café Aurora?" in response.content.decode()
    assert f'href="/q/{open_code.token}/?lang=sv"' in response.content.decode()


def test_form_unknown_code_is_404(client, open_code):
    response = client.get("/q/" + "a" * 28 + "/")

    assert response.status_code == 404
    assert "Vi känner inte igen den här koden" in response.content.decode()


def test_form_malformed_token_is_404(client):
    assert client.get("/q/NOT-A-TOKEN!/").status_code == 404


def test_form_revoked_code_is_410_and_says_it_was_replaced(client, open_code):
    services.qr_code_revoke(qr_code=open_code)

    response = client.get(form_url(open_code), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    assert "This code has been replaced" in response.content.decode()
    assert "Ask the staff" in response.content.decode()


def test_form_maintenance_is_503_with_retry_after(client, open_code):
    intake.intake_switch_set(is_open=False, message="Back at 10:00.", retry_after_minutes=20)

    response = client.get(form_url(open_code))

    assert response.status_code == 503
    assert response["Retry-After"] == "1200"
    assert "Back at 10:00." in response.content.decode()


def test_form_paused_business_is_503_with_retry_after(client, open_code):
    Business.objects.filter(pk=open_code.business_id).update(status=Business.Status.PAUSED)

    response = client.get(form_url(open_code))

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


def test_form_paused_pilot_is_503_with_retry_after(client, open_code, enrolled):
    services.pilot_pause(pilot=enrolled.pilot)

    response = client.get(form_url(open_code))

    assert response.status_code == 503
    assert "Retry-After" in response


def test_form_pilot_not_started_is_410(client, open_code, enrolled):
    start = timezone.localdate() + datetime.timedelta(days=3)
    Pilot.objects.filter(pk=enrolled.pilot_id).update(starts_on=start, ends_on=start)

    response = client.get(form_url(open_code), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    assert "Not started yet" in response.content.decode()


def test_form_pilot_ended_is_410_with_thanks(client, open_code, enrolled):
    services.pilot_complete(pilot=enrolled.pilot)

    response = client.get(form_url(open_code), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    assert "This pilot has ended, thank you" in response.content.decode()


def test_form_pilot_past_its_end_date_is_410(client, open_code, enrolled):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Pilot.objects.filter(pk=enrolled.pilot_id).update(
        starts_on=yesterday - datetime.timedelta(days=10), ends_on=yesterday
    )

    assert client.get(form_url(open_code)).status_code == 410


def test_form_full_trial_is_410_and_says_so(client, open_code, enrolled):
    Enrollment.objects.filter(pk=enrolled.pk).update(feedback_count=enrolled.trial_limit)

    response = client.get(form_url(open_code), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 410
    assert "The pilot is full" in response.content.decode()


def test_form_churned_business_is_410(client, open_code):
    Business.objects.filter(pk=open_code.business_id).update(status=Business.Status.CHURNED)

    assert client.get(form_url(open_code)).status_code == 410


def test_form_business_without_a_pilot_collects_feedback_without_reward(client, business):
    (code,) = services.qr_codes_generate(business=business, placements=["Counter"])

    page = client.get(form_url(code), HTTP_ACCEPT_LANGUAGE="en")
    sent = client.post(form_url(code), feedback_post(), HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert page.status_code == 200
    assert "Get your reward" not in page.content.decode()
    feedback = Feedback.objects.get()
    assert feedback.pilot is None
    assert not feedback.reward_eligible
    assert "You will receive" not in sent.content.decode()


# --- submitting ---------------------------------------------------------------
def test_submit_good_feedback_thanks_with_the_reward(client, open_code, enrolled):
    response = client.post(form_url(open_code), feedback_post(), follow=True)

    assert response.status_code == 200
    assert "Du får 10\u00a0kr" in response.content.decode()
    feedback = Feedback.objects.get()
    assert feedback.reward_eligible
    assert feedback.pilot == enrolled.pilot
    assert feedback.contact_email == "anna@example.se"
    assert feedback.consent_at is not None
    assert len(feedback.client_hash) == 64
    assert "127.0.0.1" not in feedback.client_hash
    enrolled.refresh_from_db()
    assert enrolled.feedback_count == 1


def test_submit_vague_feedback_did_not_qualify_without_the_formula(client, open_code):
    response = client.post(
        form_url(open_code),
        feedback_post(comment="ok", categories=[]),
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )

    page = response.content.decode()
    assert "This feedback did not qualify for a reward" in page
    assert "score" not in page.lower()
    assert not Feedback.objects.get().reward_eligible


def test_submit_phone_contact_is_normalised(client, open_code):
    client.post(form_url(open_code), feedback_post(contact="+46 70-123 45 67"))

    feedback = Feedback.objects.get()
    assert (feedback.contact_phone, feedback.contact_email) == ("+46701234567", "")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"rating": None}, "Välj från 1 till 5."),
        ({"rating": "9"}, "Välj ett giltigt alternativ"),
        ({"comment": "x" * 2001}, "som mest 2000 tecken"),
        ({"consent": None}, "Kryssa i rutan"),
        ({"contact": "", "consent": "on"}, "vart vi ska skicka"),
        ({"contact": "not an address"}, "Ange ett giltigt mobilnummer."),
        ({"categories": ["bogus"]}, "bogus finns inte bland tillgängliga alternativ"),
    ],
)
def test_submit_invalid_input_is_400_with_the_form_and_nothing_stored(
    client, open_code, changes, error
):
    response = client.post(form_url(open_code), feedback_post(**changes))

    assert response.status_code == 400
    page = response.content.decode()
    assert "Kontrollera de markerade fälten." in page
    assert error in page
    assert Feedback.objects.count() == 0


def test_submit_keeps_what_was_typed_when_the_form_comes_back(client, open_code):
    response = client.post(
        form_url(open_code), feedback_post(rating=None, comment="Kaffet var kallt.")
    )

    assert "Kaffet var kallt." in response.content.decode()


def test_submit_honeypot_thanks_but_keeps_nothing(client, open_code):
    response = client.post(form_url(open_code), feedback_post(website="http://spam"), follow=True)

    assert response.status_code == 200
    assert "Tack!" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_submit_without_csrf_token_is_refused_with_a_readable_page(open_code):
    client = Client(enforce_csrf_checks=True)

    response = client.post(form_url(open_code), feedback_post(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 403
    assert "Reload the page" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_submit_the_same_again_within_ten_minutes_is_refused_politely(client, open_code):
    client.post(form_url(open_code), feedback_post())

    response = client.post(form_url(open_code), feedback_post(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 409
    assert "You sent this from this phone a moment ago" in response.content.decode()
    assert Feedback.objects.count() == 1


def test_submit_over_the_device_rate_limit_is_429(client, business, settings):
    settings.FEEDBACK_RATE_PER_DEVICE = "2/h"
    codes = services.qr_codes_generate(business=business, placements=["A", "B", "C"])

    statuses = [
        client.post(form_url(code), feedback_post(comment=f"{code.placement}: good")).status_code
        for code in codes
    ]

    assert statuses[:2] == [302, 302]
    assert statuses[2] == 429
    assert Feedback.objects.count() == 2


def test_submit_over_the_code_rate_limit_is_429_with_retry_after(open_code, settings):
    settings.FEEDBACK_RATE_PER_CODE = "1/h"
    Client(REMOTE_ADDR="10.0.0.1").post(form_url(open_code), feedback_post())

    response = Client(REMOTE_ADDR="10.0.0.2").post(form_url(open_code), feedback_post())

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3601


def test_submit_huge_body_is_413_and_stores_nothing(client, open_code):
    response = client.post(form_url(open_code), feedback_post(comment="x" * (10 * 1024 * 1024)))

    assert response.status_code == 413
    assert Feedback.objects.count() == 0


def test_submit_spam_is_kept_as_spam_and_does_not_count_toward_the_trial(
    client, open_code, enrolled
):
    client.post(form_url(open_code), feedback_post(comment="aaaaaaaaaaaaaaaaaaaa"))

    feedback = Feedback.objects.get()
    enrolled.refresh_from_db()
    assert feedback.status == Feedback.Status.SPAM
    assert not feedback.reward_eligible
    assert enrolled.feedback_count == 0


def test_thanks_page_language_switch_keeps_the_receipt(client, open_code):
    thanks = client.post(form_url(open_code), feedback_post(), follow=True)
    switch = re.search(r'href="([^"]*lang=en[^"]*)"', thanks.content.decode()).group(1)

    english = client.get(html.unescape(switch))

    assert english.status_code == 200
    assert "You will receive SEK\u00a010" in english.content.decode()


def test_thanks_page_with_a_forged_receipt_goes_back_to_the_form(client, open_code):
    response = client.get(form_url(open_code) + "thanks/?r=forged")

    assert response.status_code == 302
    assert response["Location"] == form_url(open_code)


# --- scans --------------------------------------------------------------------
def test_scans_count_each_client_once_a_day(open_code):
    first, second = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")

    first.get(form_url(open_code))
    first.get(form_url(open_code))
    second.get(form_url(open_code))
    intake.scans_flush(now=timezone.now())  # with a shared cache, counts wait for the flush

    (row,) = ScanCount.objects.all()
    assert row.scans == 2
    assert row.day == timezone.localdate()
    assert row.pilot_id == open_code.business.enrollments.get().pilot_id


def test_scans_are_not_counted_for_closed_codes(client, open_code):
    services.qr_code_revoke(qr_code=open_code)

    client.get(form_url(open_code))

    assert ScanCount.objects.count() == 0


# --- privacy note -------------------------------------------------------------
def test_privacy_note_is_linked_from_the_form_and_readable(client, open_code):
    page = client.get(form_url(open_code)).content.decode()
    note = client.get("/privacy/?lang=en")

    assert "/privacy/" in page
    assert note.status_code == 200
    assert "90 days" in note.content.decode()


def test_privacy_note_states_the_configured_retention_in_both_languages(client, settings):
    settings.RETENTION_DAYS = 45

    english = client.get("/privacy/?lang=en").content.decode()
    swedish = client.get("/privacy/?lang=sv").content.decode()

    assert "after 45 days" in english
    assert "senast efter 45 dagar" in swedish
