"""JSON from outside, parsed within bounds: size, nesting depth, no NUL characters.

Receivers (Stripe, Alertmanager) read bodies that anyone can send. Python's
parser recurses without limit and PostgreSQL's jsonb refuses NUL characters,
so a body is checked for both before anything stores or walks it.
"""

import json
import re
from typing import Any

STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
BRACKETS = re.compile(r"[\[\]{}]")


class JsonInputError(ValueError):
    """The body is not JSON that Pilot Ops accepts; the message says why."""


def _depth(text: str) -> int:
    deepest = depth = 0
    for bracket in BRACKETS.findall(STRINGS.sub('""', text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _no_constants(name: str):
    raise JsonInputError(f"{name} is not a JSON number")


def json_loads_bounded(raw: bytes, *, max_bytes: int, max_depth: int = 32) -> Any:
    """Parse ``raw`` as UTF-8 JSON, or raise JsonInputError naming the problem."""
    if len(raw) > max_bytes:
        raise JsonInputError(f"the body is larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonInputError("the body is not UTF-8") from None
    if _depth(text) > max_depth:
        raise JsonInputError(f"the JSON is nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as error:
        if isinstance(error, JsonInputError):
            raise
        raise JsonInputError(f"the body is not JSON: {error}") from None
    if _has_nul(value):
        raise JsonInputError("the JSON holds NUL characters")
    return value
