"""The features of the pilots part that roll out behind flags, and businesses as flags see them."""

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from core.flags import Tenant, feature_declare, flag_is_on
from pilots.models import Business, Tag

SMS_REWARD_LINKS = feature_declare(
    "sms_reward_links",
    "Customers may leave a mobile number for the reward: the claim link goes by SMS. "
    "Off: the form asks for an e-mail address and refuses a phone number.",
    default=True,
)
# What the form and the service say to a phone number while SMS_REWARD_LINKS is off.
PHONE_NOT_TAKEN = _("Rewards are sent by e-mail here: please leave an e-mail address.")

QUALITY_RUBRIC_V2 = feature_declare(
    "quality_rubric_v2",
    "Feedback is scored by the second quality rubric (suggestions and comments that "
    "match their categories count; length counts less). The feedback records the "
    "version; the success report compares the two.",
    default=False,
)


def business_tenant(business: Business) -> Tenant:
    """The business as flags see it; its tags are read once, or come prefetched."""
    return Tenant(key=business.pk, tags=frozenset(tag.name for tag in business.tags.all()))


def business_feature_on(feature, business: Business) -> bool:
    return flag_is_on(feature, tenant=business_tenant(business))


def businesses_with_tenants() -> list[tuple[Business, Tenant]]:
    """Every business that has not churned, with its tenant: two queries."""
    businesses = Business.objects.exclude(status=Business.Status.CHURNED).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("name"))
    )
    return [(business, business_tenant(business)) for business in businesses.order_by("pk")]
