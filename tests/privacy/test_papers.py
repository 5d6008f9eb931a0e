"""The privacy papers: made from the code's facts, current in docs/privacy/, PDFs per business."""

import pypdfium2
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from privacy import papers

ALL = [(paper, language) for paper in papers.PAPERS for language in papers.LANGUAGES]


def pdf_text(data: bytes) -> str:
    return " ".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(data))


def test_papers_in_docs_are_current_with_the_code():
    assert papers.papers_write(check=True) == [], "run: python manage.py privacy_papers"


@pytest.mark.parametrize(("paper", "language"), ALL)
def test_papers_name_every_contact_field_of_every_model(paper, language):
    text = papers.paper_markdown(paper, language)
    holding = [model for model in apps.get_models() if getattr(model, "CONTACT_FIELDS", ())]

    assert len(holding) >= 5
    for model in holding:
        for field in model.CONTACT_FIELDS:
            assert f"(`{model._meta.db_table}`) | `{field}` |" in text, (model, field)


def test_papers_take_retention_from_the_settings(settings):
    settings.RETENTION_DAYS = 45
    settings.DATA_REQUEST_LINK_MAX_AGE_HOURS = 12

    english = papers.paper_markdown("it-guide", "en")
    swedish = papers.paper_markdown("it-guide", "sv")

    assert "| 45 days | `RETENTION_DAYS` |" in english
    assert "| 45 dagar | `RETENTION_DAYS` |" in swedish
    assert "| 12 timmar | `DATA_REQUEST_LINK_MAX_AGE_HOURS` |" in swedish
    assert "inom 45 dagar" in papers.paper_markdown("dpa", "sv")


def test_papers_name_the_sub_processors_this_installation_uses(settings):
    settings.SMS_GATEWAY_URL = "https://api.46elks.com/a1"
    settings.STRIPE_SECRET_KEY = ""

    text = papers.paper_markdown("dpa", "en", configured=True)
    template = papers.paper_markdown("dpa", "en")

    assert "| SMS gateway |" in text and "| yes (api.46elks.com) |" in text
    assert "| Stripe |" in text and text.split("| Stripe |")[1].split("\n")[0].endswith("| no |")
    assert "| `SMS_GATEWAY_URL` |" in template and "46elks" not in template


def test_papers_check_fails_when_a_paper_is_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(papers, "DOCS_DIR", tmp_path)

    with pytest.raises(CommandError, match="Out of date"):
        call_command("privacy_papers", "--check")
    call_command("privacy_papers")
    call_command("privacy_papers", "--check")

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{paper}.{language}.md" for paper, language in ALL
    )


@pytest.mark.django_db
def test_papers_as_pdf_for_one_business(manager_client, business):
    page = manager_client.get(f"/admin/pilots/business/{business.pk}/change/")
    response = manager_client.get(f"/admin/privacy/datarequest/papers/{business.pk}/dpa.sv.pdf")

    assert (
        f"/admin/privacy/datarequest/papers/{business.pk}/it-guide.en.pdf" in page.content.decode()
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Personuppgiftsbiträdesavtal" in text and business.name in text
    assert "pilots_feedback" in text


@pytest.mark.django_db
def test_papers_need_the_right_to_see_businesses(
    client, django_user_model, business, viewer_client
):
    nobody = django_user_model.objects.create_user(
        "nobody", password="x-long-pass-1", is_staff=True
    )
    client.force_login(nobody)

    refused = client.get(f"/admin/privacy/datarequest/papers/{business.pk}/dpa.en.pdf")
    unknown = viewer_client.get(f"/admin/privacy/datarequest/papers/{business.pk}/salary.en.pdf")
    missing = viewer_client.get("/admin/privacy/datarequest/papers/999999/dpa.en.pdf")

    assert refused.status_code == 403
    assert unknown.status_code == missing.status_code == 404
