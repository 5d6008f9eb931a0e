"""/metrics exposes django-prometheus with database and cache backends wired."""

import pytest
from django.core.cache import cache


@pytest.mark.django_db
def test_metrics_exposes_requests_database_and_cache_counters(client):
    client.get("/health/")
    cache.get("metrics-probe")
    from django.contrib.auth.models import Group

    Group.objects.count()

    body = client.get("/metrics").content.decode()

    assert "django_http_requests_total_by_method_total" in body
    assert "django_db_execute_total" in body
    assert "django_cache_get_total" in body


def test_cache_returns_falsy_values_it_stored():
    cache.set("zero-feedbacks", 0)
    cache.set("intake-open", False)

    assert cache.get("zero-feedbacks", "missing") == 0
    assert cache.get("intake-open", "missing") is False
    assert cache.get("never-set", "missing") == "missing"
