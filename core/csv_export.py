"""Streamed CSV downloads that Excel opens as columns in a Swedish office.

Excel reads a CSV with the list separator and decimal mark of the computer's
regional settings: in Sweden ``;`` and ``,``. So every export here is
UTF-8 with a byte-order mark (or Excel reads å, ä, ö as Windows-1252),
``;``-separated, with decimal commas, ``yes``/``no`` (``ja``/``nej``) for truth values, local
times as Excel recognises them, and numbers rounded as the pages show them.
Rows are written as they are read, never held in memory, in the language of the
staff member who asked (headers and words are the callers' marked strings).
"""

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext

DELIMITER = ";"
# Spreadsheets run cells that start with these as formulas.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def decimal_comma(value: float | Decimal, places: int = 1) -> str:
    """12.345 → "12,3": rounded to ``places`` as the pages show it, with a decimal comma."""
    return f"{value:.{places}f}".replace(".", ",")


def kronor(amount_minor: int) -> Decimal:
    """Minor units as a number of kronor (or euros): 1000 → 10.00, written "10,00"."""
    return (Decimal(amount_minor) / 100).quantize(Decimal("0.01"))


def csv_cell(value) -> object:
    """One value as a cell a Swedish Excel reads right."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return decimal_comma(value)
    if isinstance(value, Decimal):
        return str(value).replace(".", ",")
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence], filename: str):
    writer = csv.writer(_Echo(), delimiter=DELIMITER)
    # The rows are written after the view has returned, when the request's language
    # is no longer active: each line is written in the language of the request.
    language = translation.get_language()
    header = [str(title) for title in header]

    def lines():
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read UTF-8
        yield writer.writerow(header)
        for row in rows:
            with translation.override(language):
                line = writer.writerow([csv_cell(value) for value in row])
            yield line

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
