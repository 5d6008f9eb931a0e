"""The printed staff card of a café: its staff link as a QR code and as text.

The admin and the staff page's *Print card* button print the same card.
"""

from pilots.printing import cards_sheet_html
from pilots.qr import qr_png_data_uri
from pilots.selectors import TableCard
from support.models import StaffLink

INSTRUCTION_SV = "Personal: rapportera ett problem"
INSTRUCTION_EN = "Staff: report a problem"


def staff_card_html(staff_link: StaffLink) -> str:
    return staff_cards_html([staff_link])


def staff_cards_html(staff_links: list[StaffLink]) -> str:
    """The cards of several cafés on one sheet (the pilot set-up flow prints them all)."""
    cards = [
        TableCard(
            business_name=link.business.name,
            placement="Personal / Staff",
            url=link.public_url,
            image_uri=qr_png_data_uri(link.public_url),
        )
        for link in staff_links
    ]
    return cards_sheet_html(cards, instruction_sv=INSTRUCTION_SV, instruction_en=INSTRUCTION_EN)
