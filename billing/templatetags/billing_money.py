from django import template

from core.money import format_money

register = template.Library()


@register.filter
def money(amount: int, currency: str) -> str:
    """Öre as people read them: 59900|money:"SEK" → "599 kr"."""
    return format_money(amount, currency)
