"""What a request body may be, checked before anything parses it.

Public forms take only URL-encoded UTF-8 bodies up to 64 KB (the staff report,
which may carry a photo, multipart too, up to 6 MB); webhooks take JSON up to
1 MB; everything else (the admin) Django's own limits. A body that
breaks its endpoint's rule is answered 413 or 415 from the headers alone,
before a byte of it is read. A body Django cannot read (a form in Latin-1, a
broken multipart) is a 400, and so is any ``BadRequest`` or
``SuspiciousOperation`` raised while Django builds an error page for it.
"""

from dataclasses import dataclass

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils.http import parse_header_parameters

from core.views import bad_request

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded",)
JSON_CONTENT_TYPES = ("application/json",)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UTF_8 = frozenset({"utf-8", "utf8"})


@dataclass(frozen=True)
class BodyRule:
    content_types: tuple[str, ...]
    max_bytes: int
    json_errors: bool = False


PUBLIC_FORM = BodyRule(FORM_CONTENT_TYPES, 64 * 1024)
# The staff report takes a photo of at most 5 MB, so multipart and a little more room.
STAFF_REPORT = BodyRule((*FORM_CONTENT_TYPES, "multipart/form-data"), 6 * 1024 * 1024)
WEBHOOK = BodyRule(JSON_CONTENT_TYPES, 1024 * 1024, json_errors=True)

# Path prefixes and the rule of the endpoints under them.
BODY_RULES: tuple[tuple[str, BodyRule], ...] = (
    ("/q/", PUBLIC_FORM),
    ("/staff/", STAFF_REPORT),
    ("/rewards/", PUBLIC_FORM),
    ("/webhooks/", WEBHOOK),
)


def body_rule_for(path: str) -> BodyRule | None:
    return next((rule for prefix, rule in BODY_RULES if path.startswith(prefix)), None)


def _refusal(rule: BodyRule | None, status: int, message: str) -> HttpResponse:
    if rule is not None and rule.json_errors:
        return JsonResponse({"error": message}, status=status)
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def body_refusal(request: HttpRequest) -> HttpResponse | None:
    """A 400, 413 or 415 for a body its endpoint does not take, from the headers alone."""
    if request.method not in BODY_METHODS:
        return None
    rule = body_rule_for(request.path)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refusal(rule, 400, "The Content-Length header is not a number.")
    if length < 0:
        return _refusal(rule, 400, "The Content-Length header is not a number.")
    content_type, parameters = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    charset = parameters.get("charset", "utf-8").lower()
    if content_type in FORM_CONTENT_TYPES + JSON_CONTENT_TYPES and charset not in UTF_8:
        return _refusal(rule, 400, "Send the body in UTF-8.")
    if rule is None:
        return None
    if length > rule.max_bytes:
        return _refusal(rule, 413, f"The body is larger than {rule.max_bytes // 1024} KB.")
    if length and content_type not in rule.content_types:
        return _refusal(rule, 415, "Send " + " or ".join(rule.content_types) + ".")
    return None


class RequestBodyLimitMiddleware:
    """Refuse bodies an endpoint does not take; turn unreadable ones into 400s.

    Sits first in ``MIDDLEWARE``: nothing inside it has read the body yet, and
    an error raised while Django answers another error stops here as a 400.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = body_refusal(request)
        if refusal is not None:
            return refusal
        try:
            return self.get_response(request)
        except (BadRequest, SuspiciousOperation, MultiPartParserError, UnreadablePostError):
            return bad_request(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Read a form body here, where a broken one can still be answered with a 400."""
        if request.method not in BODY_METHODS:
            return None
        try:
            request.POST  # noqa: B018 - parses and caches the body once
        except (BadRequest, SuspiciousOperation, MultiPartParserError, UnreadablePostError):
            return bad_request(request)
        return None
