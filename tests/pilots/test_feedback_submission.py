"""The form as cafés use it: a double tap, two friends on one Wi-Fi, refusals keeping the text."""

import re
import threading

import pytest
from django.db import connection

from core.client import DEVICE_COOKIE_NAME
from core.ratelimit import Rate
from pilots import intake
from pilots.models import Feedback, Payment
from tests.conftest import SPECIFIC_COMMENT, Client, feedback_post, outbox_delivered

pytestmark = pytest.mark.django_db

CAFE_WIFI = "192.0.2.44"
KEY_FIELD = re.compile(r'name="submission_key" value="([A-Za-z0-9_-]+)"')


def form_url(code) -> str:
    return f"/q/{code.token}/"


def rendered_key(response) -> str:
    return KEY_FIELD.search(response.content.decode()).group(1)


def form_of(client, code, **headers) -> str:
    """Open the form as a customer does; the key of the rendered form."""
    response = client.get(form_url(code), **headers)
    assert response.status_code == 200
    return rendered_key(response)


def test_every_rendered_form_carries_its_own_submission_key(client, open_code):
    first, second = form_of(client, open_code), form_of(client, open_code)

    assert len(first) >= 22
    assert first != second


def test_double_post_gives_one_row_and_two_identical_thanks_pages(client, open_code):
    key = form_of(client, open_code)
    data = feedback_post(submission_key=key)

    first = client.post(form_url(open_code), data, follow=True)
    second = client.post(form_url(open_code), data, follow=True)

    assert first.status_code == second.status_code == 200
    assert first.redirect_chain == second.redirect_chain
    assert first.content == second.content
    assert "Du får 10\u00a0kr" in second.content.decode()
    assert Feedback.objects.count() == 1
    assert Payment.objects.count() == 1
    assert len(outbox_delivered()) == 1  # one claim e-mail, not two


def test_repeat_post_of_a_stored_key_is_never_refused_even_over_the_limits(
    client, open_code, settings
):
    settings.FEEDBACK_RATE_PER_DEVICE = "1/h"
    data = feedback_post(submission_key=form_of(client, open_code))
    client.post(form_url(open_code), data)

    again = client.post(form_url(open_code), data)

    assert again.status_code == 302
    assert "/thanks/" in again["Location"]
    assert Feedback.objects.count() == 1


def test_a_new_form_sending_the_same_text_is_a_duplicate_with_the_text_kept(client, open_code):
    client.post(form_url(open_code), feedback_post(submission_key=form_of(client, open_code)))
    key = form_of(client, open_code, HTTP_ACCEPT_LANGUAGE="en")

    response = client.post(
        form_url(open_code),
        feedback_post(submission_key=key, comment=f"{SPECIFIC_COMMENT}!!"),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    page = response.content.decode()
    assert response.status_code == 409
    assert "You sent this from this phone a moment ago" in page
    assert f"{SPECIFIC_COMMENT}!!</textarea>" in page
    assert 'value="anna@example.se"' in page
    assert rendered_key(response) == key  # nothing was stored under it
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("sv", "Du skickade det här från den här telefonen nyss"),
        ("en", "You sent this from this phone a moment ago"),
    ],
)
def test_duplicate_message_is_in_the_customers_language(client, open_code, language, message):
    client.post(form_url(open_code), feedback_post())

    response = client.post(form_url(open_code), feedback_post(), HTTP_ACCEPT_LANGUAGE=language)

    assert message in response.content.decode()


def test_same_device_with_something_new_to_say_is_taken(client, open_code):
    client.post(form_url(open_code), feedback_post(comment="The coffee was cold today."))

    response = client.post(
        form_url(open_code), feedback_post(comment="And the toilet had no paper at all.")
    )

    assert response.status_code == 302
    assert Feedback.objects.count() == 2


def test_two_devices_behind_one_address_at_one_table_are_both_stored(open_code):
    anna, erik = Client(REMOTE_ADDR=CAFE_WIFI), Client(REMOTE_ADDR=CAFE_WIFI)
    answers = []
    for friend in (anna, erik):
        key = form_of(friend, open_code)
        answers.append(friend.post(form_url(open_code), feedback_post(submission_key=key)))

    assert [answer.status_code for answer in answers] == [302, 302]
    stored = list(Feedback.objects.values_list("client_hash", "device_hash"))
    assert len(stored) == 2
    assert stored[0][0] == stored[1][0]  # one network
    assert stored[0][1] != stored[1][1]  # two devices


def test_two_phones_on_one_network_are_two_scans(open_code):
    from django.utils import timezone

    from pilots.models import ScanCount

    anna, erik = Client(REMOTE_ADDR=CAFE_WIFI), Client(REMOTE_ADDR=CAFE_WIFI)
    for friend in (anna, erik, anna):
        friend.get(form_url(open_code))
    intake.scans_flush(now=timezone.now())  # with a shared cache, counts wait for the flush

    assert ScanCount.objects.get().scans == 2


def test_device_cookie_is_random_httponly_and_samesite_lax(open_code):
    cookies = [Client().get(form_url(open_code)).cookies[DEVICE_COOKIE_NAME] for _ in range(2)]

    assert cookies[0].value != cookies[1].value
    assert len(cookies[0].value) >= 32
    assert cookies[0]["httponly"] is True
    assert cookies[0]["samesite"] == "Lax"
    assert cookies[0]["max-age"] >= 30 * 24 * 3600


def test_device_cookie_is_kept_once_given(client, open_code):
    client.get(form_url(open_code))
    given = client.cookies[DEVICE_COOKIE_NAME].value

    response = client.get(form_url(open_code))

    assert DEVICE_COOKIE_NAME not in response.cookies
    assert client.cookies[DEVICE_COOKIE_NAME].value == given


def test_a_forged_device_cookie_is_replaced(client, open_code):
    client.cookies[DEVICE_COOKIE_NAME] = "<script>"

    response = client.get(form_url(open_code))

    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", response.cookies[DEVICE_COOKIE_NAME].value)


def test_network_limit_is_sized_for_a_busy_cafe_by_default():
    from django.conf import settings

    rate = Rate.parse(settings.FEEDBACK_RATE_PER_NETWORK)

    assert rate.limit * 3600 / rate.period_seconds >= 60


def test_network_limit_counts_every_device_on_it(open_code, settings):
    settings.FEEDBACK_RATE_PER_NETWORK = "2/h"
    statuses = [
        Client(REMOTE_ADDR=CAFE_WIFI)
        .post(form_url(open_code), feedback_post(comment=f"Visit number {n}: good bun."))
        .status_code
        for n in range(3)
    ]

    assert statuses == [302, 302, 429]
    assert Feedback.objects.count() == 2


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("sv", "Din text finns kvar nedan"),
        ("en", "Your text is kept below"),
    ],
)
def test_rate_limit_refusal_keeps_the_form_with_retry_after(
    client, open_code, settings, language, message
):
    settings.FEEDBACK_RATE_PER_DEVICE = "1/h"
    client.post(form_url(open_code), feedback_post(comment="The first visit was lovely."))

    response = client.post(
        form_url(open_code),
        feedback_post(comment="Second thought: the music was too loud."),
        HTTP_ACCEPT_LANGUAGE=language,
    )

    page = response.content.decode()
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3601
    assert message in page
    assert "Second thought: the music was too loud.</textarea>" in page
    assert Feedback.objects.count() == 1


def test_privacy_page_explains_the_device_cookie(client):
    english = client.get("/privacy/?lang=en").content.decode()
    swedish = client.get("/privacy/?lang=sv").content.decode()

    assert DEVICE_COOKIE_NAME in english and DEVICE_COOKIE_NAME in swedish
    assert "random" in english
    assert "slumpmässig" in swedish


def test_phone_only_reward_thanks_page_says_the_link_comes_by_text(client, open_code, sms_fake):
    response = client.post(
        form_url(open_code),
        feedback_post(contact="070-123 45 67", submission_key=form_of(client, open_code)),
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    outbox_delivered()

    page = response.content.decode()
    assert "We have sent the details by text message to +46*******67" in page
    (text,) = sms_fake.sent()
    assert text["to"] == "+46701234567"
    assert "/rewards/claim/" in text["message"]
    assert "/rewards/claim/" not in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_posts_of_one_key_at_the_same_instant_store_one_row(open_code):
    """A double tap racing itself: the database keeps one row and both see it."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    key = "k" * 22
    start = threading.Barrier(2)
    results = []

    def submit():
        start.wait()
        try:
            results.append(
                intake.feedback_submit(
                    qr_code=open_code,
                    client_hash="c" * 64,
                    submission_key=key,
                    rating=5,
                    categories=[],
                    comment="Lovely bun.",
                    language="sv",
                ).pk
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    assert results[0] == results[1]
    assert Feedback.objects.count() == 1
