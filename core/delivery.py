"""The three outcomes of handing a message to a server we do not control.

A call that leaves the machine (SMTP, an SMS gateway, Slack) is done,
refused, or not known: an answer lost after the other side may have acted is
*unknown*, never a failure, and is settled by asking, not by guessing.
"""

import requests


class DeliveryRefused(Exception):
    """A definitive no (an invalid address, a 5xx from SMTP): sending again will not help."""


class DeliveryNotMade(Exception):
    """Known not delivered (connection refused, a temporary 4xx): try again later."""


class DeliveryUnknown(Exception):
    """The answer was lost after the request may have been acted on."""


def http_delivery_call(
    method: str, url: str, *, service: str, timeout: tuple[float, float], **kwargs
) -> requests.Response:
    """One HTTP request to a delivery service, its outcome sorted into the three kinds.

    Not made: the connection never opened, or the service asks us to slow
    down (429). Refused: any other 4xx. Unknown: the connection broke or
    timed out after the request went out, or the service failed (5xx) and
    may have acted first. Anything else is the answer, returned.
    """
    try:
        response = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.ConnectTimeout as error:
        raise DeliveryNotMade(f"could not reach {service} (connect timeout)") from error
    except requests.ConnectionError as error:
        if "NewConnectionError" in repr(error) or "Connection refused" in str(error):
            raise DeliveryNotMade(f"could not reach {service}") from error
        raise DeliveryUnknown(f"{service}'s answer was lost (connection broke)") from error
    except requests.Timeout as error:
        raise DeliveryUnknown(f"no answer from {service} in time") from error
    status = response.status_code
    if status == 429:
        raise DeliveryNotMade(f"{service} asks us to slow down (429)")
    if 400 <= status < 500:
        raise DeliveryRefused(f"{service} refused it ({status})")
    if status >= 500:
        raise DeliveryUnknown(f"{service} failed ({status})")
    return response
