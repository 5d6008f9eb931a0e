"""The language of public pages: Swedish unless the visitor asks for English."""

from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
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
