"""The A4 sheet of table cards, as a print-ready page and as a PDF of that same page."""

from django.db.models import QuerySet
from django.http import HttpResponse
from django.template.loader import render_to_string

from core.pdf import html_to_pdf
from pilots.models import QRCode
from pilots.selectors import table_cards

CARDS_PER_PAGE = 6
INSTRUCTION_SV = "Skanna och berätta vad du tycker"
INSTRUCTION_EN = "Scan and tell us what you think"


def sheet_html(codes: QuerySet[QRCode], *, pdf_url: str = "") -> str:
    cards = table_cards(codes)
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    return render_to_string(
        "pilots/qr_sheet.html",
        {
            "pages": pages,
            "count": len(cards),
            "pdf_url": pdf_url,
            "instruction_sv": INSTRUCTION_SV,
            "instruction_en": INSTRUCTION_EN,
        },
    )


def sheet_pdf(codes: QuerySet[QRCode]) -> bytes:
    return html_to_pdf(sheet_html(codes))


def sheet_pdf_response(codes: QuerySet[QRCode], *, filename: str) -> HttpResponse:
    response = HttpResponse(sheet_pdf(codes), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
