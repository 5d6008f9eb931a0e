"""Changelist search at scale: full-text through a GIN index on PostgreSQL, a bounded
search on SQLite; both stay on the same page shape and answer hostile input calmly."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import admin as core_admin
from pilots.models import Feedback
from support import services as support
from tests.query_plans import query_plan, scans_table

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def add_feedback(code, comment: str) -> Feedback:
    return Feedback.objects.create(
        business=code.business,
        qr_code=code,
        rating=4,
        language="sv",
        comment=comment,
        quality_score=50,
        client_hash="0" * 64,
        submitted_at=timezone.now(),
    )


def found(client, path: str, term: str) -> list:
    response = client.get(path, {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_feedback_search_finds_words_their_forms_and_beginnings(manager_client, open_code):
    bun = add_feedback(open_code, "Kardemummabullen var färsk och kaffet gott.")
    add_feedback(open_code, "The queue was long but the staff were friendly.")

    assert found(manager_client, "/admin/pilots/feedback/", "kardemumma") == [bun]
    assert found(manager_client, "/admin/pilots/feedback/", "KAFFET gott") == [bun]
    if POSTGRES:  # stemming: another form of the same word
        assert [
            f.comment[:5] for f in found(manager_client, "/admin/pilots/feedback/", "queues")
        ] == ["The q"]


def test_feedback_search_reads_the_gin_index_or_is_bounded(manager_client, open_code, monkeypatch):
    old = add_feedback(open_code, "Old visit: cinnamon roll")
    for n in range(5):
        add_feedback(open_code, f"Newer visit {n}")
    monkeypatch.setattr(core_admin, "SQLITE_SEARCH_ROWS", 3)

    with CaptureQueriesContext(connection) as captured:
        hits = found(manager_client, "/admin/pilots/feedback/", "cinnamon")

    if POSTGRES:
        assert hits == [old]  # the whole table
        # The page's own query (not the capped count around it).
        (page,) = [q["sql"] for q in captured if "@@" in q["sql"] and "subquery" not in q["sql"]]
        plan = query_plan(page, allow_sort=True)
        assert "pilots_feedback_search" in plan and not scans_table(plan, "pilots_feedback")
    else:
        assert hits == []  # older than the newest 3 rows
        page = manager_client.get("/admin/pilots/feedback/").content.decode()
        assert "Searches the newest 3 rows." in page


def test_ticket_search_by_reference_and_title_words(agent_client):
    reader = support.ticket_create(title="Card reader refuses payments")
    support.ticket_create(title="Menu typo on the counter card")

    assert found(agent_client, "/admin/support/ticket/", reader.reference) == [reader]
    assert found(agent_client, "/admin/support/ticket/", "refuses payment") == [reader]


@pytest.mark.parametrize(
    "term", ["'", "a & | ! ( ) : * b", "\\\\", "ö" * 3000, "<>", "'x':*", "!!"]
)
def test_search_answers_hostile_terms_without_an_error(
    manager_client, agent_client, open_code, term
):
    add_feedback(open_code, "Plain comment")

    assert manager_client.get("/admin/pilots/feedback/", {"q": term}).status_code == 200
    assert agent_client.get("/admin/support/ticket/", {"q": term}).status_code == 200
