"""A Swedish-speaking pilot manager works the pilots back office in Swedish, an English one in
English."""

import pytest

from core import roles
from core.services import staff_language_set
from pilots.models import Payment
from tests.conftest import _logged_in_client, good_feedback_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def swedish_manager(staff_member):
    manager = staff_member(roles.PILOT_MANAGERS, username="karin")
    staff_language_set(user=manager, language="sv")
    return _logged_in_client(manager)


@pytest.fixture
def english_manager(staff_member):
    return _logged_in_client(staff_member(roles.PILOT_MANAGERS, username="emma"))


@pytest.fixture
def cancelled_payment(open_code):
    feedback = good_feedback_submit(
        open_code, client_hash="b" * 64, contact_email="lisa@example.se", consent=True
    )
    payment = feedback.payment
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.CANCELLED)
    return payment


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_pilot_change_form_swedish_manager_sees_swedish(swedish_manager, active_pilot):
    page = swedish_manager.get(f"/admin/pilots/pilot/{active_pilot.pk}/change/").content.decode()

    assert "Ändra pilot" in page
    assert "Belöningsgräns" in page
    assert "Förvald provgräns" in page
    assert "Mål för deltagandegrad" in page
    assert "Vad piloten måste uppnå för att räknas som lyckad." in page
    assert ">Pausa</button>" in page
    assert "Resultatrapport" in page
    assert "Dess deltagande kaféer stängs" in page  # the confirmation before completing
    assert "Reward threshold" not in page


def test_pilot_change_form_english_manager_sees_english(english_manager, active_pilot):
    page = english_manager.get(f"/admin/pilots/pilot/{active_pilot.pk}/change/").content.decode()

    assert "Change pilot" in page
    assert "Reward threshold" in page
    assert "What the pilot must achieve to count as a success." in page
    assert ">Pause</button>" in page
    assert "Belöningsgräns" not in page


def test_payment_changelist_swedish_manager_sees_swedish_actions(
    swedish_manager, cancelled_payment
):
    page = swedish_manager.get("/admin/pilots/payment/").content.decode()

    assert "Välj betalning att ändra" in page
    assert "Spärra valda betalningar för granskning" in page
    assert "Försök igen med valda betalningar" in page
    assert "Kör utbetalningar nu" in page
    assert "Avbruten" in page  # the payment's status
    assert "Hold selected payments for review" not in page


def test_payment_changelist_english_manager_sees_english_actions(
    english_manager, cancelled_payment
):
    page = english_manager.get("/admin/pilots/payment/").content.decode()

    assert "Hold selected payments for review" in page
    assert "Run payouts now" in page
    assert "Spärra valda betalningar" not in page


def test_payment_hold_refusal_swedish_manager_reads_it_in_swedish(
    swedish_manager, cancelled_payment
):
    response = swedish_manager.post(
        "/admin/pilots/payment/",
        {"action": "hold", "_selected_action": [cancelled_payment.pk]},
        follow=True,
    )

    assert messages_of(response) == [
        f"Betalning {cancelled_payment.pk} kan inte spärras: den är avbruten; "
        "bara misslyckade eller väntande betalningar kan det."
    ]


def test_payment_hold_refusal_english_manager_reads_it_in_english(
    english_manager, cancelled_payment
):
    response = english_manager.post(
        "/admin/pilots/payment/",
        {"action": "hold", "_selected_action": [cancelled_payment.pk]},
        follow=True,
    )

    assert messages_of(response) == [
        f"Cannot hold payment {cancelled_payment.pk}: it is cancelled; "
        "only failed or pending payments can be."
    ]


def test_pilot_actions_swedish_manager_reads_counts_in_swedish(swedish_manager, make_pilot):
    drafts = [make_pilot(name="Vårpilot"), make_pilot(name="Höstpilot")]

    response = swedish_manager.post(
        "/admin/pilots/pilot/",
        {"action": "activate", "_selected_action": [pilot.pk for pilot in drafts]},
        follow=True,
    )

    assert messages_of(response) == ["2 piloter aktiverade."]


def test_pilot_transition_refusal_swedish_manager_reads_it_in_swedish(
    swedish_manager, active_pilot
):
    response = swedish_manager.post(
        f"/admin/pilots/pilot/{active_pilot.pk}/lifecycle/resume/", follow=True
    )

    assert messages_of(response) == [
        f"”{active_pilot.name}” kan inte återupptas: den är aktiv, "
        "och bara pausade piloter kan återupptas."
    ]


def test_payment_mark_paid_form_swedish_manager_sees_swedish(swedish_manager, cancelled_payment):
    Payment.objects.filter(pk=cancelled_payment.pk).update(status=Payment.Status.FAILED)

    page = swedish_manager.post(
        "/admin/pilots/payment/",
        {"action": "mark_paid", "_selected_action": [cancelled_payment.pk]},
    ).content.decode()

    assert "Markera betalningar som betalda för hand" in page
    assert "Orsak" in page
    assert "betalade 10 kr med Swish den 3 mars" in page
    assert f"Betalning {cancelled_payment.pk} — Café Aurora (Stockholm) — Misslyckad" in page
    assert 'value="Markera som betald"' in page


def test_qr_sheet_swedish_manager_sees_a_swedish_toolbar(swedish_manager, open_code):
    page = swedish_manager.get(f"/admin/pilots/qrcode/sheet/?ids={open_code.pk}").content.decode()

    assert "QR-bordskort (1)" in page
    assert "1 bordskort" in page and "1 A4-sida" in page
    assert "Ladda ned PDF" in page
    assert "Tillbaka till QR-koder" in page
    assert "Skanna och berätta vad du tycker — Scan and tell us what you think" in page
