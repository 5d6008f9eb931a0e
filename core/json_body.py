"""Bounded JSON parsing for webhook bodies.

The body's size is limited before it is read (`core.request_limits`); here
the parsed document is checked too: nesting deeper than a real payload ever
is (a recursion error waiting to happen), and NUL characters, which
PostgreSQL refuses to store in text, are refused with a readable reason.
"""

import json

MAX_DEPTH = 32


class JsonBodyError(ValueError):
    """A body that is not JSON a receiver takes; the message says why."""


def json_body_parse(body: bytes, *, max_depth: int = MAX_DEPTH) -> object:
    try:
        document = json.loads(body)
    except RecursionError:
        raise JsonBodyError(f"nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise JsonBodyError(f"not JSON ({error})") from None
    _check(document, max_depth)
    return document


def _check(document: object, max_depth: int) -> None:
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise JsonBodyError("text with a NUL character")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise JsonBodyError(f"nested deeper than {max_depth} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str) and "\x00" in key:
                raise JsonBodyError("a key with a NUL character")
            pending.append((item, depth + 1))
