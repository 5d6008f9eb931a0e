"""Every request gets an id, on its response and on its log lines."""

import logging

import pytest

from core.logging import RequestIdFilter


class RecordingHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def request_log():
    handler = RecordingHandler()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_request_id_is_made_when_none_is_given(client):
    response = client.get("/health/")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert client.get("/health/")["X-Request-ID"] != request_id


def test_request_id_from_the_proxy_is_kept(client):
    response = client.get("/health/", HTTP_X_REQUEST_ID="lb-7f3a9c21-0001")

    assert response["X-Request-ID"] == "lb-7f3a9c21-0001"


def test_request_id_that_is_not_plain_is_replaced(client):
    response = client.get("/health/", HTTP_X_REQUEST_ID="x" * 200)

    assert response["X-Request-ID"] != "x" * 200
    assert len(response["X-Request-ID"]) == 32


def test_request_id_is_on_the_log_lines_of_its_request(client, request_log):
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-000000042")

    assert request_log, "a 404 is logged by django.request"
    assert {record.request_id for record in request_log} == {"trace-000000042"}
