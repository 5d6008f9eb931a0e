"""HTML to PDF: the one place that talks to WeasyPrint.

Printed pages (QR table cards, reports) are rendered once as HTML; the PDF is
that same HTML laid out by WeasyPrint, so the two never drift apart.
WeasyPrint needs the Pango library of the operating system.
"""

from django.conf import settings


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url or str(settings.BASE_DIR)).write_pdf()
