"""The core back office pages outside its model admins, for the Swedish page check."""

PAGES = ["/admin/", "/admin/language/"]


def make_rows() -> None:
    """The demo has a row for every core admin that needs one."""
