"""``{% feature_on "name" tenant as on %}``: a flag check in a template (see core.flags)."""

from django import template

from core.flags import Tenant, flag_is_on

register = template.Library()


@register.simple_tag
def feature_on(name: str, tenant: Tenant | None = None) -> bool:
    return flag_is_on(name, tenant=tenant)
