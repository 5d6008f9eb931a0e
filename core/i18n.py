"""The language of public pages: Swedish unless the visitor asks for English."""

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


def language_switch_url(request: HttpRequest, language: str) -> str:
    """The current address in ``language``, every other query parameter kept."""
    query = request.GET.copy()
    query[LANGUAGE_PARAMETER] = language
    return f"{request.path}?{query.urlencode()}"


def public_page_context(request: HttpRequest, language: str) -> dict[str, str]:
    """What every public page's base template needs to show and switch its language."""
    other = "en" if language == "sv" else "sv"
    return {
        "language": language,
        "other_language": other,
        "switch_url": language_switch_url(request, other),
    }
