"""Money reads as people in each language write it."""

from django.utils import translation

from core.money import format_money


def test_format_money_swedish_groups_with_no_break_spaces_and_a_decimal_comma():
    with translation.override("sv"):
        assert format_money(123450, "SEK") == "1\u00a0234,50\u00a0kr"
        assert format_money(1000, "SEK") == "10\u00a0kr"
        assert format_money(123456700, "SEK") == "1\u00a0234\u00a0567\u00a0kr"
        assert format_money(500, "EUR") == "5,00\u00a0EUR"
        assert format_money(-1250, "SEK") == "-12,50\u00a0kr"


def test_format_money_english_puts_the_currency_first_with_a_decimal_point():
    with translation.override("en"):
        assert format_money(123450, "SEK") == "SEK\u00a01,234.50"
        assert format_money(1000, "SEK") == "SEK\u00a010"
        assert format_money(500, "EUR") == "EUR\u00a05.00"
        assert format_money(5, "SEK") == "SEK\u00a00.05"
