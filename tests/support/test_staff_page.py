"""The café staff page: dated reports, a photo, the printed card, incident notices."""

import datetime
import io
import os

import pytest
from django.test.client import MULTIPART_CONTENT
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from support import incidents, services
from support.models import StaffLink, Ticket, TicketPhoto
from tests.conftest import Client

pytestmark = pytest.mark.django_db

CAMERA = "SecretCam 9000"


@pytest.fixture
def link(business):
    return services.staff_link_issue(business=business)


def url(link) -> str:
    return f"/staff/{link.token}/"


def jpeg_with_exif(size=(800, 600)) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0132] = "2026:11:30 10:42:00"  # DateTime
    exif[0x0112] = 1  # Orientation
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size=(300, 200), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def report_with_photo(client, link, photo, **headers):
    return client.post(
        url(link),
        {"category": "qr_code", "description": "Table 4 code is torn", "photo": photo},
        content_type=MULTIPART_CONTENT,
        **headers,
    )


# --- the list of reports --------------------------------------------------------
def test_each_report_shows_date_category_own_description_status_and_latest_reply(
    client, link, admin_user
):
    ticket = services.staff_report(
        link=link,
        category="reward",
        description="Guest at table 2 got no text message",
        reporter="Sara",
        client_hash="a" * 64,
    )
    services.ticket_reply(ticket=ticket, body="Looking into it.", actor=admin_user)
    services.ticket_reply(
        ticket=ticket, body="Sent again; please ask her to check.", actor=admin_user
    )

    page = client.get(url(link), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    created = timezone.localtime(ticket.created_at)
    assert ticket.reference in page
    assert f"{created:%Y-%m-%d %H:%M}" in page
    assert "Customer did not get reward" in page
    assert "Guest at table 2 got no text message" in page
    assert ticket.get_status_display() in page
    assert "Sent again; please ask her to check." in page
    assert "Looking into it." not in page  # only the latest reply


# --- the photo ---------------------------------------------------------------------
def test_a_jpeg_photo_is_stored_reencoded_without_exif(client, link):
    response = report_with_photo(client, link, upload("torn.jpg", jpeg_with_exif(), "image/jpeg"))

    assert response.status_code == 302
    photo = TicketPhoto.objects.get(ticket=Ticket.objects.get())
    stored = bytes(photo.content)
    assert CAMERA.encode() not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert (photo.width, photo.height, photo.content_type) == (800, 600, "image/jpeg")


def test_a_png_photo_is_taken(client, link):
    response = report_with_photo(client, link, upload("screen.png", png(), "image/png"))

    assert response.status_code == 302
    assert TicketPhoto.objects.get().content_type == "image/png"


def test_a_large_photo_is_scaled_down(client, link):
    report_with_photo(client, link, upload("big.jpg", jpeg_with_exif((4000, 3000)), "image/jpeg"))

    photo = TicketPhoto.objects.get()
    assert (photo.width, photo.height) == (2560, 1920)


@pytest.mark.parametrize(
    ("name", "content", "content_type", "message"),
    [
        ("notes.txt", b"just some text, not a photo", "text/plain", "not a JPEG or PNG photo"),
        ("fake.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "image/jpeg", "not a JPEG or PNG photo"),
        ("anim.gif", b"GIF89a" + b"\x00" * 100, "image/gif", "not a JPEG or PNG photo"),
        (
            "huge.jpg",
            b"\xff\xd8\xff" + os.urandom(5 * 1024 * 1024),
            "image/jpeg",
            "larger than 5 MB",
        ),
    ],
)
def test_a_file_that_is_not_a_small_photo_is_refused_with_a_clear_message(
    client, link, name, content, content_type, message
):
    response = report_with_photo(
        client, link, upload(name, content, content_type), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "Table 4 code is torn</textarea>" in page  # what they wrote stays
    assert not Ticket.objects.exists()
    assert not TicketPhoto.objects.exists()


def test_a_decompression_bomb_is_refused_before_it_is_decoded(client, link):
    bomb = png((10_000, 10_000), mode="1")
    assert len(bomb) < 100 * 1024  # small on the wire, 100 megapixels decoded

    response = report_with_photo(
        client, link, upload("bomb.png", bomb, "image/png"), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "too many pixels" in response.content.decode()
    assert not Ticket.objects.exists()


def test_photo_refusal_speaks_swedish(client, link):
    response = report_with_photo(client, link, upload("x.txt", b"hello", "text/plain"))

    assert "inte ett foto i JPEG eller PNG" in response.content.decode()


def test_a_body_over_6_mb_is_refused_from_its_headers(client, link):
    response = report_with_photo(
        client, link, upload("big.jpg", b"\xff\xd8" + b"\x00" * (6 * 1024 * 1024), "image/jpeg")
    )

    assert response.status_code == 413
    assert not Ticket.objects.exists()


def test_the_feedback_form_still_takes_no_multipart(open_code):
    response = Client().post(
        f"/q/{open_code.token}/", {"rating": "5"}, content_type=MULTIPART_CONTENT
    )

    assert response.status_code == 415


def test_the_photo_is_shown_to_staff_in_the_admin_only(client, link, agent_client, viewer_client):
    report_with_photo(client, link, upload("torn.jpg", jpeg_with_exif(), "image/jpeg"))
    ticket = Ticket.objects.get()
    photo_url = reverse("admin:support_ticket_photo", args=[ticket.pk])

    staff_page = client.get(url(link)).content.decode()
    as_agent = agent_client.get(photo_url)
    change_page = agent_client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    anonymous = Client().get(photo_url)

    assert photo_url not in staff_page
    assert "foto bifogat" in staff_page
    assert as_agent.status_code == 200
    assert as_agent["Content-Type"] == "image/jpeg"
    assert {"private", "no-store"} <= {
        part.strip() for part in as_agent["Cache-Control"].split(",")
    }
    assert Image.open(io.BytesIO(as_agent.content)).size == (800, 600)
    assert photo_url in change_page.content.decode()
    assert viewer_client.get(photo_url).status_code == 200
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]


def test_the_photo_is_not_under_a_public_path(client, link):
    from django.conf import settings

    report_with_photo(client, link, upload("torn.jpg", jpeg_with_exif(), "image/jpeg"))

    for folder in (settings.STATIC_ROOT, *settings.STATICFILES_DIRS):
        found = [p for p in os.listdir(folder) if p.endswith((".jpg", ".jpeg", ".png"))]
        assert found == [], folder


def test_photos_are_purged_with_reporters_contacts_after_the_retention_period(
    client, link, settings
):
    report_with_photo(client, link, upload("torn.jpg", jpeg_with_exif(), "image/jpeg"))
    later = timezone.now() + datetime.timedelta(days=settings.RETENTION_DAYS - 1)
    services.ticket_contacts_anonymise(now=later)
    assert TicketPhoto.objects.exists()

    services.ticket_contacts_anonymise(now=later + datetime.timedelta(days=2))

    assert not TicketPhoto.objects.exists()
    assert Ticket.objects.exists()


# --- the printed card --------------------------------------------------------------
def test_print_card_button_leads_to_the_printable_card(client, link):
    page = client.get(url(link), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    card_url = f"/staff/{link.token}/card/"

    card = client.get(card_url)

    assert card_url in page
    assert "Print card" in page
    assert card.status_code == 200
    assert link.public_url in card.content.decode()
    assert "data:image/png;base64," in card.content.decode()


def test_card_of_a_replaced_link_is_410(client, link):
    services.staff_link_issue(business=link.business)

    assert StaffLink.objects.get(pk=link.pk).status == StaffLink.Status.REVOKED
    assert client.get(f"/staff/{link.token}/card/").status_code == 410


# --- incident notices --------------------------------------------------------------
def test_open_incident_affecting_the_cafe_shows_its_latest_public_update(
    client, link, make_business
):
    detected = timezone.now() - datetime.timedelta(minutes=30)
    incident = incidents.incident_declare(
        title="payout worker wedged (internal)",
        severity="SEV2",
        businesses=[link.business],
        detected_at=detected,
    )
    incidents.incident_post_update(
        incident=incident,
        body="Payouts are delayed; next update by 11:15.",
        public=True,
    )
    incidents.incident_post_update(incident=incident, body="INTERNAL: restarting the worker")
    elsewhere = incidents.incident_declare(
        title="other", severity="SEV3", businesses=[make_business("Malmö Huset")]
    )
    incidents.incident_post_update(incident=elsewhere, body="OTHER-CAFE outage", public=True)

    page = client.get(url(link), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Payouts are delayed; next update by 11:15." in page
    assert f"since {timezone.localtime(detected):%H:%M}" in page
    assert "INTERNAL" not in page
    assert "payout worker wedged" not in page
    assert "OTHER-CAFE" not in page


def test_notice_says_when_the_next_update_is_due_as_posted_in_the_admin(client, link, agent_client):
    incident = incidents.incident_declare(
        title="payouts", severity="SEV2", businesses=[link.business]
    )
    agent_client.post(
        f"/admin/support/incident/{incident.pk}/post-update/",
        {"body": "Payouts are delayed.", "public": "on", "next_update_in_minutes": "30"},
    )
    promised = incident.updates.get(public=True).next_update_at

    english = client.get(url(link), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    swedish = client.get(url(link), HTTP_ACCEPT_LANGUAGE="sv").content.decode()

    due = f"{timezone.localtime(promised):%H:%M}"
    assert 29 * 60 <= (promised - timezone.now()).total_seconds() <= 30 * 60
    assert f"Next update by {due}" in english
    assert f"Nästa uppdatering senast {due}" in swedish


def test_resolved_incident_is_no_longer_shown(client, link):
    incident = incidents.incident_declare(
        title="outage", severity="SEV3", businesses=[link.business]
    )
    incidents.incident_post_update(incident=incident, body="Card payments are down.", public=True)
    incidents.incident_resolve(incident=incident, root_cause="A full disk.")

    page = client.get(url(link)).content.decode()

    assert "Card payments are down." not in page


def test_staff_page_is_served_in_a_fixed_number_of_queries(
    client, link, admin_user, django_assert_max_num_queries
):
    for n in range(5):
        ticket = services.staff_report(
            link=link, category="other", description=f"n{n}", reporter="", client_hash=f"{n}" * 64
        )
        services.ticket_reply(ticket=ticket, body=f"reply {n}", actor=admin_user)

    with django_assert_max_num_queries(8):
        assert client.get(url(link)).status_code == 200


def test_a_broken_multipart_body_is_a_400_not_a_500(client, link):
    response = client.generic(
        "POST",
        url(link),
        b'--x\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\nabc',
        content_type="multipart/form-data; boundary=",
    )

    assert response.status_code == 400
    assert not Ticket.objects.exists()


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(["jpeg", "png"]),
    cut=st.integers(min_value=0, max_value=2000),
    noise=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=8),
)
def test_a_damaged_photo_is_refused_or_cleaned_never_an_error(base, cut, noise):
    """Truncated or corrupted JPEG and PNG files: a clear refusal, or a clean photo."""
    from support.photos import CleanPhoto, PhotoRefused, photo_clean

    damaged = bytearray(jpeg_with_exif((64, 48)) if base == "jpeg" else png((64, 48)))
    damaged = damaged[: max(cut, 1)] if cut < len(damaged) else damaged
    for position, value in noise:
        damaged[position % len(damaged)] = value

    try:
        cleaned = photo_clean(upload("damaged", bytes(damaged), "image/jpeg"))
    except PhotoRefused as refused:
        assert str(refused)
    else:
        assert isinstance(cleaned, CleanPhoto)
        assert CAMERA.encode() not in cleaned.content


def test_staff_page_says_a_report_waits_on_the_cafe_in_its_words(client, link):
    ticket = services.staff_report(
        link=link,
        category="qr_code",
        description="The code at table 4 is torn",
        reporter="",
        client_hash="c" * 64,
    )
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.WAITING)

    in_swedish = client.get(url(link) + "?lang=sv").content.decode()
    in_english = client.get(url(link) + "?lang=en").content.decode()

    assert "Väntar på dig" in in_swedish and "anmälaren" not in in_swedish
    assert "Waiting on you" in in_english and "Waiting on reporter" not in in_english
