"""QR images decode, with a real decoder, to exactly the code's public URL."""

import re

import pytest

from pilots.qr import qr_png, qr_svg
from pilots.services import qr_codes_generate
from tests.decoding import decode_png, decode_svg

pytestmark = pytest.mark.django_db


@pytest.fixture
def code(business, settings):
    settings.PUBLIC_BASE_URL = "https://pilotops.example.se"
    (code,) = qr_codes_generate(business=business, placements=["Table 4"])
    return code


def test_qr_png_download_decodes_to_the_public_url(manager_client, code):
    response = manager_client.get(f"/admin/pilots/qrcode/{code.pk}/png/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "cafe-aurora-table-4.png" in response["Content-Disposition"]
    assert decode_png(response.content) == [f"https://pilotops.example.se/q/{code.token}/"]


def test_qr_svg_download_decodes_to_the_public_url(manager_client, code):
    response = manager_client.get(f"/admin/pilots/qrcode/{code.pk}/svg/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert decode_svg(response.content.decode()) == [code.public_url]


@pytest.mark.parametrize("size_mm", [15, 40, 120])
def test_qr_svg_scales_by_its_viewbox_and_decodes_at_any_size(size_mm):
    url = "https://pilotops.example.se/q/mfrggzdfmztwq2lknnwg23tpobyq/"
    svg = qr_svg(url)

    assert re.search(r'viewBox="0 0 (\d+) \1"', svg)
    assert "width=" not in svg.split(">")[0]
    assert decode_svg(svg, size_mm=size_mm) == [url]


def test_qr_png_of_a_long_url_still_decodes():
    url = "https://feedback.pilotops.example.se/q/" + "a" * 60 + "/"

    assert decode_png(qr_png(url)) == [url]


def test_qr_downloads_of_an_unknown_code_are_404(manager_client):
    assert manager_client.get("/admin/pilots/qrcode/999999/png/").status_code == 404


def test_qr_downloads_need_a_staff_login(client, code):
    response = client.get(f"/admin/pilots/qrcode/{code.pk}/png/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
