"""Read paths of the pilots part."""

from dataclasses import dataclass

from django.db.models import QuerySet

from pilots.models import Business, QRCode
from pilots.qr import qr_svg


@dataclass(frozen=True)
class TableCard:
    """What one printed table card shows."""

    business_name: str
    placement: str
    url: str
    svg: str


def qr_codes_active(
    *, ids: list[int] | None = None, business: Business | None = None
) -> QuerySet[QRCode]:
    """Active codes among ``ids`` and/or of ``business``, in print order."""
    codes = QRCode.objects.filter(status=QRCode.Status.ACTIVE).select_related("business")
    if ids is not None:
        codes = codes.filter(pk__in=ids)
    if business is not None:
        codes = codes.filter(business=business)
    return codes.order_by("business__name", "placement", "pk")


def table_cards(codes: QuerySet[QRCode]) -> list[TableCard]:
    return [
        TableCard(
            business_name=code.business.name,
            placement=code.placement,
            url=code.public_url,
            svg=qr_svg(
                code.public_url, title=f"QR code for {code.business.name}, {code.placement}"
            ),
        )
        for code in codes
    ]
