"""The A4 sheet of table cards: as a page and as a PDF, every printed code decodes."""

import pytest

from pilots.printing import INSTRUCTION_EN, INSTRUCTION_SV
from pilots.services import qr_code_revoke, qr_codes_generate
from tests.decoding import decode_pdf, pdf_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def codes(business, settings):
    settings.PUBLIC_BASE_URL = "https://pilotops.example.se"
    return qr_codes_generate(
        business=business, placements=[f"Table {n}" for n in range(1, 8)] + ["Counter"]
    )


def ids(codes) -> str:
    return ",".join(str(code.pk) for code in codes)


def test_sheet_page_shows_every_card_with_name_placement_instruction_and_url(manager_client, codes):
    response = manager_client.get(f"/admin/pilots/qrcode/sheet/?ids={ids(codes)}")

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="card"') == len(codes)
    assert page.count("Café Aurora") >= len(codes)
    assert f"{INSTRUCTION_SV} — {INSTRUCTION_EN}" in page
    for code in codes:
        assert f">{code.placement}<" in page
        assert f">{code.public_url}<" in page
    assert "size: A4" in page
    assert "/admin/pilots/qrcode/sheet.pdf?" in page


def test_sheet_pdf_is_a4_and_every_code_decodes_to_its_url(manager_client, codes):
    selected = codes[:7]

    response = manager_client.get(f"/admin/pilots/qrcode/sheet.pdf?ids={ids(selected)}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pages = pdf_pages(response.content)
    assert len(pages) == 2  # six cards a page
    width, height = pages[0].size
    assert abs(height / width - 297 / 210) < 0.01
    assert sorted(decode_pdf(response.content)) == sorted(code.public_url for code in selected)


def test_sheet_of_a_business_prints_its_active_codes_only(manager_client, business, codes):
    revoked = qr_code_revoke(qr_code=codes[0])

    response = manager_client.get(f"/admin/pilots/qrcode/sheet.pdf?business={business.pk}")

    decoded = decode_pdf(response.content)
    assert sorted(decoded) == sorted(code.public_url for code in codes[1:])
    assert revoked.public_url not in decoded
    assert "cafe-aurora" in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "Select codes, or a business"),
        ("?ids=1,two", "not a list of code numbers"),
        ("?ids=999999", "None of the selected codes is active"),
    ],
)
def test_sheet_with_nothing_to_print_explains_why(manager_client, query, says):
    response = manager_client.get(f"/admin/pilots/qrcode/sheet/{query}")

    assert response.status_code == 400
    assert says in response.content.decode()
