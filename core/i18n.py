"""Languages: public pages are Swedish unless the visitor asks for English; the back office
speaks each staff member's chosen language (English unless their profile says Swedish)."""

from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

SUPPORTED = tuple(code for code, _ in settings.LANGUAGES)
LANGUAGE_PARAMETER = "lang"


def visitor_language(request: HttpRequest, *, default: str = "sv") -> str:
    """The switch (``?lang=``) first, then the remembered choice, then Accept-Language."""
    for chosen in (
        request.GET.get(LANGUAGE_PARAMETER),
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
    ):
        if chosen in SUPPORTED:
            return chosen
    for language, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        code = language.split("-")[0].lower()
        if code in SUPPORTED:
            return code
    return default


def remember_language(request: HttpRequest, response: HttpResponse, language: str) -> None:
    """Keep an explicit switch for the visitor's next pages."""
    if request.GET.get(LANGUAGE_PARAMETER) == language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )


def same_origin_path(path: str) -> str:
    """``path`` percent-encoded when it can only mean a page of this site, else "".

    Browsers read ``//host``, ``/\\host`` and paths with tabs or line breaks
    (which they strip) as another site; only a path that starts with a single
    ``/`` and has no backslash or control character is kept.
    """
    if (
        not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(ord(character) < 0x20 or ord(character) == 0x7F for character in path)
    ):
        return ""
    return quote(path, safe="/:@!$&'()*+,;=-._~")


def language_switch_url(request: HttpRequest, language: str) -> str:
    """The current address in ``language``, every other query parameter kept.

    An address that could lead off-site becomes a query-only link: the same page.
    """
    query = request.GET.copy()
    query[LANGUAGE_PARAMETER] = language
    return f"{same_origin_path(request.path)}?{query.urlencode()}"


def public_page_context(request: HttpRequest, language: str) -> dict[str, str]:
    """What every public page's base template needs to show and switch its language."""
    other = "en" if language == "sv" else "sv"
    return {
        "language": language,
        "other_language": other,
        "switch_url": language_switch_url(request, other),
    }


BACK_OFFICE_PREFIX = "/admin/"


def staff_language(user) -> str:
    """The back office language of a signed-in staff member: their profile's, else the default."""
    from core.models import StaffProfile

    if not (user and user.is_authenticated and user.is_staff):
        return settings.LANGUAGE_CODE
    chosen = StaffProfile.objects.filter(user=user).values_list("language", flat=True).first()
    return chosen or settings.LANGUAGE_CODE


class StaffLanguageMiddleware:
    """Speak each staff member's language in the back office, and the default everywhere else.

    Public pages choose their own language per visitor (``visitor_language``);
    this only decides the back office's. The language is reset after each
    response, so a thread's next request never inherits it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = settings.LANGUAGE_CODE
        if request.path.startswith(BACK_OFFICE_PREFIX):
            language = staff_language(getattr(request, "user", None))
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        if request.path.startswith(BACK_OFFICE_PREFIX):
            response.headers.setdefault("Content-Language", language)
        return response
