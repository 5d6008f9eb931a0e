"""Streamed CSV downloads: rows are written as they are read, never held in memory."""

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

# Spreadsheets run cells that start with these as formulas.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence], filename: str):
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read UTF-8
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
