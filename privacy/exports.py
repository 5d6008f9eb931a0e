"""What is held about one person, as a JSON document and a readable PDF in their language."""

from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.money import format_money
from core.pdf import html_to_pdf
from privacy.models import DataRequest
from privacy.selectors import Holdings, holdings_document
from privacy.services import data_request_exported


def request_document(*, data_request: DataRequest, actor=None) -> dict:
    holdings = data_request_exported(data_request=data_request, file_format="JSON", actor=actor)
    return {
        "data_request": data_request.pk,
        "exported_at": timezone.now().isoformat(timespec="seconds"),
        "held": holdings_document(holdings),
    }


def holdings_html(holdings: Holdings, *, language: str, for_pdf: bool = True) -> str:
    """The readable page of what is held: the PDF, and the self-service page's content."""
    document = holdings_document(holdings)
    for payment in document["payments"]:
        payment["amount"] = format_money(payment["amount_minor"], payment["currency"])
    with translation.override(language):
        return render_to_string(
            "privacy/export.html",
            {
                "held": document,
                "language": language,
                "exported_at": timezone.localtime(),
                "for_pdf": for_pdf,
                "nothing": holdings.is_empty,
            },
        )


def request_pdf(*, data_request: DataRequest, actor=None) -> bytes:
    holdings = data_request_exported(data_request=data_request, file_format="PDF", actor=actor)
    return html_to_pdf(holdings_html(holdings, language=data_request.language))
