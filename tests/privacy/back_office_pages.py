"""A data subject request the demo lacks, for the Swedish page check."""

from privacy.services import data_request_open

PAGES: list[str] = []


def make_rows() -> None:
    """An open request with what was found, so its change and erase pages are read."""
    data_request_open(contact="anna@example.se", identity_check="Svarade från adressen.")
