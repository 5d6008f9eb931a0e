"""Money is integer minor units with a currency code; this formats it for people.

In the active language: Swedish writes "1 234,50 kr" and "5,00 EUR", English
"SEK 1,234.50" and "EUR 5.00". Whole kronor drop their öre ("10 kr", "SEK 10").
The spaces in an amount do not break, so "1 234 kr" never splits across lines.
"""

from django.utils import translation

NO_BREAK = "\u00a0"


def _grouped(whole: int, separator: str) -> str:
    return f"{whole:,}".replace(",", separator)


def format_money(amount_minor: int, currency: str) -> str:
    """1000 SEK → "10 kr" / "SEK 10", 123450 SEK → "1 234,50 kr" / "SEK 1,234.50"."""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(amount_minor), 100)
    swedish = (translation.get_language() or "").split("-")[0] == "sv"
    if swedish:
        number = sign + _grouped(whole, NO_BREAK)
        if cents or currency != "SEK":
            number += f",{cents:02d}"
        return f"{number}{NO_BREAK}{'kr' if currency == 'SEK' else currency}"
    number = sign + _grouped(whole, ",")
    if cents or currency != "SEK":
        number += f".{cents:02d}"
    return f"{currency}{NO_BREAK}{number}"
