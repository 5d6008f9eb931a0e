"""Tokens of printed links (QR codes, staff cards)."""

import base64
import secrets

TOKEN_BYTES = 17  # 136 bits


def printed_link_token() -> str:
    """An unguessable, URL-safe token: 136 random bits in lower-case base32.

    Lower-case base32 has no 0/O or 1/l pairs to confuse, and no characters
    that need escaping, so the URL printed under a code can be typed by hand.
    """
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode().rstrip("=").lower()
