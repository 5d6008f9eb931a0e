"""Money is integer minor units with a currency code; this formats it for people."""


def format_money(amount_minor: int, currency: str) -> str:
    """1000 SEK → "10 kr", 1250 SEK → "12,50 kr", 500 EUR → "5.00 EUR".

    The space before the unit does not break, so "10 kr" never splits across lines.
    """
    whole, cents = divmod(amount_minor, 100)
    if currency == "SEK":
        return f"{whole}\u00a0kr" if not cents else f"{whole},{cents:02d}\u00a0kr"
    return f"{whole}.{cents:02d}\u00a0{currency}"
