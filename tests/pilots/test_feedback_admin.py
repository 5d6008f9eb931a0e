"""The feedback list for managers: masked contacts, fixed queries at any size, CSV export."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pilots import intake
from pilots.models import Enrollment, Feedback
from tests.admin_forms import change_form_data
from tests.conftest import good_feedback_submit

pytestmark = pytest.mark.django_db


def make_feedback(code, count: int, **fields) -> None:
    enrollment = code.business.enrollments.filter(status="active").first()
    defaults = {
        "business": code.business,
        "qr_code": code,
        "pilot": enrollment.pilot if enrollment else None,
        "enrollment": enrollment,
        "rating": 4,
        "comment": "Fresh coffee and a friendly barista.",
        "language": "sv",
        "quality_score": 70,
        "client_hash": "f" * 64,
        "submitted_at": timezone.now(),
    }
    Feedback.objects.bulk_create(
        [Feedback(**{**defaults, **fields}) for _ in range(count)], batch_size=2000
    )


def changelist_queries(client, query: str = "") -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/admin/pilots/feedback/{query}")
    assert response.status_code == 200
    return len(captured)


def test_feedback_list_queries_are_the_same_for_10_and_10000_rows(manager_client, open_code):
    make_feedback(open_code, 10)
    few = changelist_queries(manager_client)
    filtered_few = changelist_queries(
        manager_client, "?score=60-79&rating=4&status__exact=accepted"
    )

    make_feedback(open_code, 9990)

    assert changelist_queries(manager_client) == few
    assert changelist_queries(manager_client, "?score=60-79&rating=4&status__exact=accepted") == (
        filtered_few
    )


def test_feedback_list_never_counts_the_whole_table(manager_client, open_code):
    make_feedback(open_code, 3)

    with CaptureQueriesContext(connection) as captured:
        manager_client.get("/admin/pilots/feedback/")

    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert counts, "the list counts its (capped) results"
    assert all("LIMIT" in sql.upper() for sql in counts), counts
    assert not any("DISTINCT" in q["sql"].upper() for q in captured)


def test_feedback_list_masks_contact_data(manager_client, open_code):
    make_feedback(open_code, 1, contact_email="anna.svensson@example.se", consent_at=timezone.now())
    make_feedback(open_code, 1, contact_phone="+46701234567", consent_at=timezone.now())

    page = manager_client.get("/admin/pilots/feedback/").content.decode()
    detail = manager_client.get(
        f"/admin/pilots/feedback/{Feedback.objects.first().pk}/change/"
    ).content.decode()

    assert "anna.svensson@example.se" not in page + detail
    assert "+46701234567" not in page + detail
    assert "a***@example.se" in page
    assert "+46*******67" in page


def test_feedback_filters_narrow_the_list(manager_client, open_code):
    make_feedback(open_code, 2, rating=5, quality_score=90)
    make_feedback(open_code, 3, rating=2, quality_score=20)

    response = manager_client.get("/admin/pilots/feedback/?rating=5&score=80-100")

    assert response.context["cl"].result_count == 2


def test_feedback_search_finds_words_in_comments(manager_client, open_code):
    make_feedback(open_code, 1, comment="The oat latte was burnt.")
    make_feedback(open_code, 2)

    response = manager_client.get("/admin/pilots/feedback/?q=burnt")

    assert response.context["cl"].result_count == 1


def test_feedback_csv_export_follows_the_filter_and_keeps_contacts_out(manager_client, open_code):
    make_feedback(
        open_code,
        3,
        rating=5,
        comment='=HYPERLINK("x")',
        contact_email="a@b.se",
        consent_at=timezone.now(),
    )
    make_feedback(open_code, 4, rating=1)

    response = manager_client.get("/admin/pilots/feedback/export.csv?rating=5")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    assert len(rows) == 3
    assert {row["rating"] for row in rows} == {"5"}
    assert rows[0]["comment"].startswith("'=")
    assert "a@b.se" not in body
    assert rows[0]["business"] == "Café Aurora"


def test_feedback_mark_spam_takes_it_out_of_the_trial_count(manager_client, open_code, enrolled):
    good_feedback_submit(
        open_code, client_hash="a" * 64, contact_email="x@example.se", consent=True
    )
    feedback = Feedback.objects.get()
    assert feedback.reward_eligible

    manager_client.post(
        "/admin/pilots/feedback/", {"action": "mark_spam", "_selected_action": [feedback.pk]}
    )

    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.SPAM
    assert not feedback.reward_eligible
    assert Enrollment.objects.get(pk=enrolled.pk).feedback_count == 0


def test_feedback_viewers_read_but_cannot_act(viewer_client, open_code):
    make_feedback(open_code, 1)
    feedback = Feedback.objects.get()

    assert viewer_client.get("/admin/pilots/feedback/").status_code == 200
    viewer_client.post(
        "/admin/pilots/feedback/", {"action": "mark_spam", "_selected_action": [feedback.pk]}
    )

    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.ACCEPTED


def test_intake_switch_in_the_admin_closes_every_form(manager_client, client, open_code):
    page = manager_client.get("/admin/pilots/intakeswitch/", follow=True)
    assert page.status_code == 200

    data = change_form_data(page, message="Maintenance until 10:00", retry_after_minutes=15)
    del data["is_open"]  # untick
    saved = manager_client.post("/admin/pilots/intakeswitch/1/change/", data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors

    response = client.get(f"/q/{open_code.token}/")
    assert response.status_code == 503
    assert response["Retry-After"] == "900"


def test_feedback_flagged_then_accepted_earns_its_reward_again(open_code):
    feedback = good_feedback_submit(
        open_code, client_hash="b" * 64, contact_phone="+46701234567", consent=True
    )

    flagged = intake.feedback_status_set(feedback=feedback, status=Feedback.Status.FLAGGED)
    accepted = intake.feedback_status_set(feedback=feedback, status=Feedback.Status.ACCEPTED)

    assert not flagged.reward_eligible
    assert accepted.reward_eligible
