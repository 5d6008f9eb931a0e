"""/metrics under gunicorn with several workers: the totals of all workers, from any of them."""

import http.client

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.gunicorn_process import gunicorn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HEALTH_OK = (
    "django_http_responses_total_by_status_view_method_total",
    (("method", "GET"), ("status", "200"), ("view", "health")),
)


def get(url: str, path: str) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path)  # a new connection each time: any worker may answer
    body = connection.getresponse().read()
    connection.close()
    return body


def samples(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_four_workers_count_n_requests_as_n_on_every_scrape(tmp_path):
    multiproc_dir = tmp_path / "prometheus"
    multiproc_dir.mkdir()
    (multiproc_dir / "counter_99999.db").write_bytes(b"left over from an earlier run")
    requests = 120

    with gunicorn(workers=4, multiproc_dir=multiproc_dir) as url:
        for _ in range(requests):
            assert get(url, "/health/")
        scrapes = [samples(get(url, "/metrics").decode()) for _ in range(8)]
        writers = {path.name.rsplit("_", 1)[-1] for path in multiproc_dir.glob("counter_*.db")}

    assert "counter_99999.db" not in writers
    assert len(writers) >= 2, f"the requests were all served by one worker: {writers}"
    assert [scrape[HEALTH_OK] for scrape in scrapes] == [requests] * len(scrapes)
    assert all(("pilotops_workers_alive", ()) in scrape for scrape in scrapes)
