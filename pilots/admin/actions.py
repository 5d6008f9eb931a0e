"""Running a service for each selected row, with the outcome said in the reader's language."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import report_errors


def run_for_each(
    request: HttpRequest,
    queryset: QuerySet,
    service: Callable,
    *,
    keyword: str,
    done: Callable[[int], str],
) -> None:
    """Call ``service(<keyword>=row)`` for every selected row.

    One message sums up the successes (``done(count)``, a sentence built with
    ngettext); each failure gets its own readable one.
    """
    succeeded = 0
    for obj in queryset:
        try:
            service(**{keyword: obj}, actor=request.user)
        except ValidationError as error:
            report_errors(request, error)
        else:
            succeeded += 1
    if succeeded:
        messages.success(request, done(succeeded))
