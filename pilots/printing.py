"""The A4 sheet of table cards, as a print-ready page and as a PDF of that same page."""

from django.db.models import QuerySet
from django.http import HttpResponse
from django.template.loader import render_to_string

from core.pdf import html_to_pdf
from pilots.models import QRCode
from pilots.selectors import TableCard, table_cards

CARDS_PER_PAGE = 6
INSTRUCTION_SV = "Skanna och berätta vad du tycker"
INSTRUCTION_EN = "Scan and tell us what you think"


def cards_sheet_html(
    cards: list[TableCard], *, instruction_sv: str, instruction_en: str, pdf_url: str = ""
) -> str:
    """An A4 sheet of printed cards, six to a page (table cards, staff cards)."""
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    return render_to_string(
        "pilots/qr_sheet.html",
        {
            "pages": pages,
            "count": len(cards),
            "pdf_url": pdf_url,
            "instruction_sv": instruction_sv,
            "instruction_en": instruction_en,
        },
    )


def sheet_html(codes: QuerySet[QRCode], *, pdf_url: str = "") -> str:
    return cards_sheet_html(
        table_cards(codes),
        instruction_sv=INSTRUCTION_SV,
        instruction_en=INSTRUCTION_EN,
        pdf_url=pdf_url,
    )


def sheet_pdf(codes: QuerySet[QRCode]) -> bytes:
    return html_to_pdf(sheet_html(codes))


def sheet_pdf_response(codes: QuerySet[QRCode], *, filename: str) -> HttpResponse:
    response = HttpResponse(sheet_pdf(codes), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
