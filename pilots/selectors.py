"""Read paths of the pilots part."""

from dataclasses import dataclass

from django.db.models import QuerySet

from pilots.models import Business, Enrollment, QRCode
from pilots.qr import qr_png_data_uri


@dataclass(frozen=True)
class TableCard:
    """What one printed table card shows."""

    business_name: str
    placement: str
    url: str
    image_uri: str  # one pixel per module; the sheet scales it up without smoothing


def business_active_enrollment(business: Business) -> Enrollment | None:
    """The enrollment ``business`` is active in, if any (there is at most one)."""
    return (
        Enrollment.objects.filter(business=business, status=Enrollment.Status.ACTIVE)
        .select_related("pilot")
        .first()
    )


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
            image_uri=qr_png_data_uri(code.public_url),
        )
        for code in codes
    ]
