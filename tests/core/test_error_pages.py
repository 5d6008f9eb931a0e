"""Customers never see a debug page: every error has its own page in Swedish and English."""

import pytest

from tests.conftest import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.error_urls")]

PAGES = {
    ("/no-such-page/", "sv"): (404, "Sidan finns inte"),
    ("/no-such-page/", "en"): (404, "Page not found"),
    ("/suspicious/", "sv"): (400, "Något i förfrågan stämde inte"),
    ("/suspicious/", "en"): (400, "Something in the request was not right"),
    ("/forbidden/", "sv"): (403, "Inte tillåtet"),
    ("/forbidden/", "en"): (403, "Not allowed"),
    ("/broken/", "sv"): (500, "Något gick fel hos oss"),
    ("/broken/", "en"): (500, "Something went wrong on our side"),
}


@pytest.mark.parametrize(("path", "language"), list(PAGES))
def test_error_page_is_our_own_in_the_visitors_language(settings, path, language):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)

    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)

    status, title = PAGES[(path, language)]
    page = response.content.decode()
    assert response.status_code == status
    assert response["Content-Language"] == language
    assert f"<h1>{title}</h1>" in page
    assert "favicon" in page
    assert "SECRET-DETAIL" not in page
    assert "Traceback" not in page
    assert "DEBUG" not in page


def test_favicon_is_served(client):
    answer = client.get("/favicon.ico")

    assert answer.status_code == 301
    icon = client.get(answer["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content if icon.streaming else [icon.content])[:4] == (
        b"\x00\x00\x01\x00"
    )
