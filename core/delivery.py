"""The three outcomes of handing a message to a server we do not control.

A call that leaves the machine (SMTP, an SMS gateway) is done, refused, or
not known: an answer lost after the other side may have acted is *unknown*,
never a failure, and is settled by asking, not by guessing.
"""


class DeliveryRefused(Exception):
    """A definitive no (an invalid address, a 5xx from SMTP): sending again will not help."""


class DeliveryNotMade(Exception):
    """Known not delivered (connection refused, a temporary 4xx): try again later."""


class DeliveryUnknown(Exception):
    """The answer was lost after the request may have been acted on."""
