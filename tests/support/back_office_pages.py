"""The support back office pages outside its model admins, for the Swedish page check."""

PAGES = ["/admin/setup/pilot/"]


def make_rows() -> None:
    """The demo has a row for every support admin that needs one."""
