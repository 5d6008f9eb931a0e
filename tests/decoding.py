"""Read QR codes back with a real decoder (zxing-cpp), from PNG, SVG and PDF."""

import base64
import io

import pypdfium2
import zxingcpp
from PIL import Image

from core.pdf import html_to_pdf

RENDER_DPI = 200


def decode_image(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def decode_png(data: bytes) -> list[str]:
    return decode_image(Image.open(io.BytesIO(data)))


def pdf_pages(data: bytes) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(data)
    return [page.render(scale=RENDER_DPI / 72).to_pil() for page in document]


def decode_pdf(data: bytes) -> list[str]:
    """Every code on every page, page by page."""
    return [text for page in pdf_pages(data) for text in decode_image(page)]


def decode_svg(svg: str, *, size_mm: int = 40) -> list[str]:
    """Lay the SVG out at ``size_mm`` by an independent renderer, rasterise it and decode."""
    encoded = base64.b64encode(svg.encode()).decode()
    html = (
        f'<img src="data:image/svg+xml;base64,{encoded}" '
        f'style="width:{size_mm}mm;height:{size_mm}mm;margin:10mm">'
    )
    return decode_pdf(html_to_pdf(html))
