"""Data subject requests in the admin: find, export, erase one contact; figures stay."""

import json
from datetime import timedelta

import pypdfium2
import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from core import roles
from core.contacts import Contact
from core.models import Event, Message
from core.outbox import email_queue
from pilots.models import Feedback, Payment, RewardRecipient, StripeEvent
from pilots.selectors import payment_outcomes, pilot_kpis
from privacy import services
from privacy.models import DataRequest
from privacy.selectors import contact_holdings, contact_pattern
from support.models import Ticket
from support.services import ticket_create
from tests.conftest import _logged_in_client, good_feedback_submit

pytestmark = pytest.mark.django_db

EMAIL = "gunnar.lind@example.se"
PHONE = "+46701234599"
OTHER = "someone.else@example.se"


@pytest.fixture
def held(open_code, enrolled):
    """The same person in feedback, a paid payment, a staff-link ticket and the outbox."""
    feedback = good_feedback_submit(open_code, contact_email=EMAIL, consent=True)
    payment = feedback.payment
    Feedback.objects.filter(pk=feedback.pk).update(
        comment=f"{feedback.comment} Write to me at {EMAIL.upper()} if you have questions."
    )
    RewardRecipient.objects.filter(pk=payment.recipient_id).update(
        stripe_account_id="acct_gunnar", onboarding=RewardRecipient.Onboarding.PAYABLE
    )
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.PAID, paid_at=timezone.now(), stripe_transfer_id="tr_1"
    )
    StripeEvent.objects.create(
        stripe_id="evt_gunnar",
        type="account.updated",
        payload={"data": {"object": {"id": "acct_gunnar", "email": EMAIL}}},
    )
    ticket = ticket_create(
        title="Reward missing",
        description=f"Guest says the reward never came; call 070-123 45 99 or {EMAIL}.",
        source=Ticket.Source.STAFF_LINK,
        business=enrolled.business,
        reporter_name="Gunnar 070-123 45 99",
    )
    # An agent's alert that names the contact: found, but whom it went to is not the person's.
    email_queue(
        to=["agent@pilotops.example"],
        subject="Reward missing",
        body=f"Call the guest at {EMAIL}.",
        purpose="sla_alert",
    )
    # Somebody else's rows stay as they are.
    good_feedback_submit(open_code, contact_email=OTHER, consent=True, client_hash="b" * 64)
    return {"feedback": feedback, "payment": payment, "ticket": ticket, "pilot": enrolled.pilot}


def figures(pilot):
    today = timezone.localdate()
    kpis = pilot_kpis(pilot, start=today - timedelta(days=7), end=today)
    enrollments = list(pilot.enrollments.values_list("pk", flat=True))
    payments = list(Payment.objects.order_by("pk").values_list("amount", "currency", "status"))
    return kpis, payment_outcomes(enrollments, start=today, end=today), payments


def test_contact_pattern_finds_a_phone_number_however_it_is_spaced():
    pattern = contact_pattern(Contact(phone=PHONE))

    for spelling in ("070-123 45 99", "0701234599", "+46 70 123 45 99", "0046701234599"):
        assert pattern.search(f"call {spelling} today"), spelling
    assert not pattern.search("call 070-123 45 991 today")
    assert not pattern.search("call 070-123 45 98 today")


def test_data_request_export_lists_feedback_payment_ticket_and_outbox(held, admin_client):
    response = admin_client.post(
        "/admin/privacy/datarequest/add/",
        {"contact": " Gunnar.Lind@Example.se ", "language": "en", "identity_check": "Replied."},
    )
    data_request = DataRequest.objects.get()
    exported = admin_client.get(f"/admin/privacy/datarequest/{data_request.pk}/export.json")

    assert response.status_code == 302
    assert data_request.found["feedback"] == 1
    assert data_request.found["payments"] == 1
    assert data_request.found["messages"] >= 1
    assert exported.status_code == 200
    held_now = json.loads(exported.content)["held"]
    assert [f["id"] for f in held_now["feedback"]] == [held["feedback"].pk]
    assert [p["id"] for p in held_now["payments"]] == [held["payment"].pk]
    assert held_now["payments"][0]["amount_minor"] == held["payment"].amount
    assert [t["reference"] for t in held_now["tickets"]] == [held["ticket"].reference]
    assert {m["purpose"] for m in held_now["messages"]} >= {"reward_claim"}
    assert {m["to"] for m in held_now["messages"] if m["purpose"] != "sla_alert"} == {EMAIL}
    assert [m["to"] for m in held_now["messages"] if m["purpose"] == "sla_alert"] == [""]
    assert "agent@pilotops.example" not in exported.content.decode()
    assert [e["id"] for e in held_now["stripe_events"]] == ["evt_gunnar"]
    assert OTHER not in exported.content.decode()
    assert Event.objects.filter(action="data_request_exported").count() == 1


def test_data_request_by_phone_finds_the_ticket_the_staff_form_wrote(held):
    data_request = services.data_request_open(contact="070 123 45 99", identity_check="Called.")

    holdings = contact_holdings(Contact(phone=PHONE))

    assert data_request.contact == PHONE
    assert [t.pk for t in holdings.tickets] == [held["ticket"].pk]
    assert holdings.feedback == [] and holdings.payments == []


def test_data_request_erasure_leaves_no_contact_and_figures_unchanged(held, admin_client):
    before = figures(held["pilot"])
    by_email = services.data_request_open(contact=EMAIL, identity_check="Replied from it.")
    by_phone = services.data_request_open(contact=PHONE, identity_check="Called back.")

    response = admin_client.post(f"/admin/privacy/datarequest/{by_email.pk}/erase/")
    services.data_request_erase(data_request=by_phone)

    assert response.status_code == 302
    assert figures(held["pilot"]) == before
    for model in (Feedback, RewardRecipient, Ticket, Message, DataRequest, StripeEvent):
        rows = list(model.objects.values())
        assert EMAIL not in str(rows).lower(), model
        assert "070-123 45 99" not in str(rows), model
    after = contact_holdings(Contact(email=EMAIL))  # still linked by the hash, holding nothing
    assert [(f.contact_email, f.contact_phone) for f in after.feedback] == [("", "")]
    feedback = Feedback.objects.get(pk=held["feedback"].pk)
    assert (
        "[removed]" in feedback.comment and feedback.quality_score == held["feedback"].quality_score
    )
    ticket = Ticket.objects.get(pk=held["ticket"].pk)
    assert ticket.reporter_name == "" and ticket.contact_anonymised_at is not None
    assert ticket.description.count("[removed]") == 2
    assert Feedback.objects.filter(contact_email=OTHER).count() == 1
    # What was done, and what was kept and why.
    by_email.refresh_from_db()
    assert by_email.status == DataRequest.Status.ERASED and by_email.contact == ""
    assert by_email.done["feedback contacts anonymised"] == 1
    assert by_email.done["reward recipients anonymised"] == 1
    assert by_email.done["messages purged"] >= 1
    assert by_email.done["ticket texts redacted"] == 1
    assert by_email.done["messages to others redacted"] == 1
    alert = Message.objects.get(purpose="sla_alert")
    assert alert.body == "Call the guest at [removed]." and alert.recipient
    kept = {item["what"]: item["reason"] for item in by_email.kept}
    recipient = RewardRecipient.objects.get(pk=held["payment"].recipient_id)
    assert recipient.stripe_account_id == "acct_gunnar"
    assert "Bokföringslagen" in kept[f"Stripe account reference of reward recipient {recipient.pk}"]
    page = admin_client.get(f"/admin/privacy/datarequest/{by_email.pk}/change/")
    assert "Bokföringslagen" in page.content.decode()
    assert EMAIL not in page.content.decode()


def test_data_request_erasure_removes_an_unused_stripe_account(open_code):
    feedback = good_feedback_submit(open_code, contact_email=EMAIL, consent=True)
    Payment.objects.filter(pk=feedback.payment.pk).update(status=Payment.Status.CANCELLED)
    RewardRecipient.objects.update(stripe_account_id="acct_unused")
    data_request = services.data_request_open(contact=EMAIL, identity_check="Replied.")

    erased = services.data_request_erase(data_request=data_request)

    assert RewardRecipient.objects.get().stripe_account_id == ""
    assert erased.done["Stripe account references removed"] == 1


def test_data_request_erasure_needs_an_identity_note(held):
    data_request = services.data_request_open(contact=EMAIL)

    with pytest.raises(services.DataRequestError):
        services.data_request_erase(data_request=data_request)

    assert Feedback.objects.filter(contact_email=EMAIL).exists()


def test_data_request_pdf_is_in_the_persons_language(held, admin_client):
    data_request = services.data_request_open(contact=EMAIL, language="sv", identity_check="x")

    response = admin_client.get(f"/admin/privacy/datarequest/{data_request.pk}/export.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(
        page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(response.content)
    )
    assert "Det här har Pilot Ops om dig" in text
    assert held["ticket"].reference in text


@pytest.mark.parametrize("group", [roles.PILOT_MANAGERS, roles.SUPPORT_AGENTS, roles.VIEWERS])
def test_data_requests_are_only_for_people_who_may_see_contact_data(held, staff_member, group):
    user = staff_member(group)
    client = _logged_in_client(user)
    data_request = services.data_request_open(contact=EMAIL, identity_check="x")

    pages = [
        client.get("/admin/privacy/datarequest/"),
        client.get("/admin/privacy/datarequest/add/"),
        client.get(f"/admin/privacy/datarequest/{data_request.pk}/export.json"),
        client.post(f"/admin/privacy/datarequest/{data_request.pk}/erase/"),
    ]

    assert [page.status_code for page in pages] == [403, 403, 403, 403]
    assert Feedback.objects.filter(contact_email=EMAIL).exists()
    user.user_permissions.add(Permission.objects.get(codename="view_contact_data"))
    client = _logged_in_client(type(user).objects.get(pk=user.pk))
    assert client.get("/admin/privacy/datarequest/").status_code == 200


def test_data_request_bad_contact_is_a_readable_400(admin_client):
    response = admin_client.post(
        "/admin/privacy/datarequest/add/",
        {"contact": "not a contact\x00", "language": "sv", "identity_check": "x"},
    )

    assert response.status_code == 400
    assert b"valid" in response.content
    assert not DataRequest.objects.exists()


def test_retention_sweep_lets_go_of_unfinished_requests_contacts(held, settings):
    from core import jobs

    old = services.data_request_open(contact=EMAIL, identity_check="x")
    unopened = services.data_request_open(contact=PHONE, source="self_service")
    asked = services.data_request_open(contact=OTHER, identity_check="x")
    fresh = services.data_request_open(contact=EMAIL, identity_check="x")
    long_ago = timezone.now() - timedelta(days=settings.RETENTION_DAYS + 1)
    DataRequest.objects.filter(pk__in=[old.pk, asked.pk]).update(created_at=long_ago)
    DataRequest.objects.filter(pk=asked.pk).update(status=DataRequest.Status.ERASURE_ASKED)
    DataRequest.objects.filter(pk=unopened.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.DATA_REQUEST_LINK_MAX_AGE_HOURS + 1)
    )

    summary = jobs.retention_sweep(timezone.now())

    assert summary.counts["data request contacts purged"] == 2
    kept = dict(DataRequest.objects.values_list("pk", "contact"))
    assert kept == {old.pk: "", unopened.pk: "", asked.pk: OTHER, fresh.pk: EMAIL}


def test_data_requests_are_found_by_the_contact_typed_in_the_search(held, admin_client):
    wanted = services.data_request_open(contact=EMAIL, identity_check="x")
    services.data_request_open(contact=PHONE, identity_check="x")

    found = admin_client.get("/admin/privacy/datarequest/", {"q": "Gunnar.Lind@example.se"})
    by_id = admin_client.get("/admin/privacy/datarequest/", {"q": str(wanted.pk)})
    hostile = admin_client.get("/admin/privacy/datarequest/", {"q": "\x00'; drop"})

    assert [r.pk for r in found.context["cl"].result_list] == [wanted.pk]
    assert [r.pk for r in by_id.context["cl"].result_list] == [wanted.pk]
    assert hostile.status_code == 200


def test_data_request_closed_without_erasure_lets_go_of_the_contact(held, admin_client):
    data_request = services.data_request_open(contact=EMAIL, identity_check="x")

    closed = admin_client.post(f"/admin/privacy/datarequest/{data_request.pk}/close/")
    exported = admin_client.get(f"/admin/privacy/datarequest/{data_request.pk}/export.json")
    erased = admin_client.post(f"/admin/privacy/datarequest/{data_request.pk}/erase/")

    assert closed.status_code == exported.status_code == erased.status_code == 302
    data_request.refresh_from_db()
    assert data_request.status == DataRequest.Status.CLOSED and data_request.contact == ""
    assert Feedback.objects.filter(contact_email=EMAIL).exists()  # nothing erased
    page = admin_client.get(exported.url)
    assert "no longer holds the contact" in page.content.decode()


def test_data_request_finds_and_erases_the_persons_photos_and_incident_notes(enrolled):
    """The photo goes with the report the person made; incident notes naming them are redacted,
    and a report that only mentions them keeps its (someone else's) photo."""
    from support import incidents
    from support import services as support_services
    from support.models import IncidentUpdate, TicketPhoto
    from support.photos import CleanPhoto
    from support.services import staff_link_issue

    link = staff_link_issue(business=enrolled.business)
    photo = CleanPhoto(content=b"\xff\xd8 jpeg", content_type="image/jpeg", width=4, height=3)
    own = support_services.staff_report(
        link=link,
        category="qr_code",
        description="The code on table 4 is torn",
        reporter=f"Gunnar {PHONE}",
        client_hash="c" * 64,
        photo=photo,
    )
    about = support_services.staff_report(
        link=link,
        category="reward",
        description=f"A guest on {PHONE} says the reward never came",
        reporter="Anna at the till",
        client_hash="d" * 64,
        photo=photo,
    )
    incident = incidents.incident_declare(title="Rewards not arriving", severity="SEV3")
    incidents.incident_post_update(
        incident=incident, body=f"Guest on {PHONE} confirmed the reward came at 14:05."
    )

    holdings = contact_holdings(Contact(phone=PHONE))
    assert [p.ticket_id for p in holdings.photos] == [own.pk]
    assert [u.incident_id for u in holdings.incident_updates] == [incident.pk]
    data_request = services.data_request_open(contact=PHONE, identity_check="Called back.")
    exported = services.data_request_holdings(data_request=data_request)
    assert len(exported.photos) == 1 and len(exported.incident_updates) == 1

    erased = services.data_request_erase(data_request=data_request)

    assert erased.done["photos deleted"] == 1
    assert erased.done["incident updates redacted"] == 1
    assert list(TicketPhoto.objects.values_list("ticket", flat=True)) == [about.pk]
    update = IncidentUpdate.objects.filter(incident=incident, body__contains="14:05").get()
    assert update.body == "Guest on [removed] confirmed the reward came at 14:05."
    assert contact_holdings(Contact(phone=PHONE)).is_empty
