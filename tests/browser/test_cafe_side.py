"""The café side on a 360 px phone, in Swedish and English, in Debian's chromium.

A customer fills in and sends the form and reads the thanks page with the
reward; a double tap on *Skicka* is one feedback; two friends on the café's
Wi-Fi at one table both get theirs stored; a refusal keeps the text; café
staff report with a photo and see the notice of an incident affecting them.
"""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from pilots.models import Feedback
from support import incidents
from support.models import Ticket, TicketPhoto
from support.services import staff_link_issue
from tests.conftest import SPECIFIC_COMMENT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SEND = {"sv": "Skicka", "en": "Send"}
THANKS = {"sv": "Tack!", "en": "Thank you!"}
REWARD = {"sv": "Du får 10 kr", "en": "You will receive SEK 10"}
DUPLICATE = {
    "sv": "Du skickade det här från den här telefonen nyss",
    "en": "You sent this from this phone a moment ago",
}


def fill_the_form(screen, *, comment: str = SPECIFIC_COMMENT, contact: str = "anna@example.se"):
    screen.click("label[for=id_rating_4]")  # the fifth choice: 5 = excellent
    screen.click("label[for=id_categories_1]")
    screen.fill("textarea[name=comment]", comment)
    screen.fill("input[name=contact]", contact)
    screen.check("input[name=consent]")


def reward_heading(screen) -> str:
    return screen.locator(".reward h2").inner_text().replace("\u00a0", " ")


def fits_the_screen(screen) -> bool:
    return screen.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize("language", ["sv", "en"])
def test_customer_sends_the_form_and_reads_the_reward(phone, live_server, open_code, language):
    screen = phone(language)

    screen.goto(f"{live_server.url}/q/{open_code.token}/")
    assert fits_the_screen(screen)
    fill_the_form(screen)
    screen.get_by_role("button", name=SEND[language]).click()
    screen.wait_for_url("**/thanks/**")

    assert screen.locator("h1").inner_text() == THANKS[language]
    assert reward_heading(screen) == REWARD[language]
    assert fits_the_screen(screen)
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize("language", ["sv", "en"])
def test_double_tap_on_send_is_one_feedback_and_the_thanks_page(
    phone, live_server, open_code, language
):
    screen = phone(language)
    posts = []
    screen.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    screen.goto(f"{live_server.url}/q/{open_code.token}/")
    fill_the_form(screen)

    # Two taps before the first answer: the second submission replaces the first
    # navigation, whose answer the browser drops.
    screen.get_by_role("button", name=SEND[language]).dblclick(no_wait_after=True)
    expect(screen).to_have_url(re.compile(r"/thanks/"), timeout=15_000)
    screen.wait_for_load_state("load")

    assert len(posts) >= 1
    assert screen.locator("h1").inner_text() == THANKS[language]
    assert reward_heading(screen) == REWARD[language]
    assert Feedback.objects.count() == 1


def test_double_tap_really_sends_twice_and_stores_once(phone, live_server, open_code):
    """The same form posted twice by the page itself: both answers lead to the same thanks."""
    screen = phone("sv")
    screen.goto(f"{live_server.url}/q/{open_code.token}/")
    fill_the_form(screen)
    answers = screen.evaluate(
        """async () => {
            const form = document.querySelector('form');
            const body = new URLSearchParams(new FormData(form));
            const send = () => fetch(form.action || location.href, {method: 'POST', body,
                credentials: 'same-origin', redirect: 'follow'});
            const [first, second] = await Promise.all([send(), send()]);
            return [first.url, second.url, await first.text() === await second.text()];
        }"""
    )

    assert answers[0] == answers[1]
    assert "/thanks/" in answers[0]
    assert answers[2] is True
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize("language", ["sv", "en"])
def test_two_phones_at_one_table_on_one_network_are_both_stored(
    phone, live_server, open_code, language
):
    anna, erik = phone(language), phone(language)
    for friend in (anna, erik):  # the same words from both: they agree
        friend.goto(f"{live_server.url}/q/{open_code.token}/")
        fill_the_form(friend, contact="")
        friend.uncheck("input[name=consent]")
        friend.get_by_role("button", name=SEND[language]).click()
        friend.wait_for_url("**/thanks/**")

    assert anna.locator("h1").inner_text() == erik.locator("h1").inner_text() == THANKS[language]
    assert Feedback.objects.count() == 2
    assert Feedback.objects.values("client_hash").distinct().count() == 1
    assert Feedback.objects.values("device_hash").distinct().count() == 2


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_refusal_keeps_what_was_typed(phone, live_server, open_code, language):
    screen = phone(language)
    screen.goto(f"{live_server.url}/q/{open_code.token}/")
    fill_the_form(screen)
    screen.get_by_role("button", name=SEND[language]).click()
    screen.wait_for_url("**/thanks/**")

    screen.goto(f"{live_server.url}/q/{open_code.token}/")
    fill_the_form(screen, comment=SPECIFIC_COMMENT + "!")
    screen.get_by_role("button", name=SEND[language]).click()
    screen.wait_for_selector(".refusal")

    assert DUPLICATE[language] in screen.locator(".refusal").inner_text()
    assert screen.input_value("textarea[name=comment]") == SPECIFIC_COMMENT + "!"
    assert screen.input_value("input[name=contact]") == "anna@example.se"
    assert fits_the_screen(screen)
    assert Feedback.objects.count() == 1


def test_rate_limit_refusal_keeps_the_text_and_says_when(phone, live_server, open_code, settings):
    settings.FEEDBACK_RATE_PER_DEVICE = "1/h"
    screen = phone("en")
    screen.goto(f"{live_server.url}/q/{open_code.token}/")
    fill_the_form(screen)
    screen.get_by_role("button", name="Send").click()
    screen.wait_for_url("**/thanks/**")

    screen.goto(f"{live_server.url}/q/{open_code.token}/")
    fill_the_form(screen, comment="The music was far too loud near the window seats today.")
    with screen.expect_response(lambda answer: answer.request.method == "POST") as answer:
        screen.get_by_role("button", name="Send").click()

    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    assert "Your text is kept below" in screen.locator(".refusal").inner_text()
    assert "far too loud" in screen.input_value("textarea[name=comment]")


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (20, 120, 200)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("language", "sent", "notice"),
    [
        ("sv", "Skicka rapport", "Vi känner till ett problem sedan"),
        ("en", "Send report", "We know of a problem since"),
    ],
)
def test_staff_report_with_a_photo_and_the_incident_notice(
    phone, live_server, business, tmp_path, language, sent, notice
):
    link = staff_link_issue(business=business)
    incident = incidents.incident_declare(
        title="payout queue stuck", severity="SEV2", businesses=[business]
    )
    incidents.incident_post_update(
        incident=incident, body="Payouts are delayed; next update by 11:15.", public=True
    )
    photo = tmp_path / "broken-code.jpg"
    photo.write_bytes(jpeg_with_exif())
    screen = phone(language)

    screen.goto(f"{live_server.url}/staff/{link.token}/")
    assert notice in screen.locator(".notice").inner_text()
    assert "Payouts are delayed; next update by 11:15." in screen.locator(".notice").inner_text()
    screen.check("input[value=qr_code]", force=True)
    screen.fill("textarea[name=description]", "Table 4 code is torn")
    screen.set_input_files("input[name=photo]", str(photo))
    screen.get_by_role("button", name=sent).click()
    screen.wait_for_url("**reported=**")

    ticket = Ticket.objects.get()
    assert ticket.reference in screen.locator("[role=status]").last.inner_text()
    report = screen.locator(".report").first.inner_text()
    assert "Table 4 code is torn" in report
    assert b"SecretCam" not in bytes(TicketPhoto.objects.get(ticket=ticket).content)
    assert screen.locator("a.print-card").is_visible()
    assert fits_the_screen(screen)
