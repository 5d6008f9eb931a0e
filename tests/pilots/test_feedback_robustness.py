"""Hostile input, parallel submissions and several processes: the form holds."""

import itertools
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pilots import intake, services
from pilots.models import Enrollment, Feedback
from tests.celery_processes import worker_database_url
from tests.conftest import PROJECT_DIR, Client

CLIENT_NUMBERS = itertools.count()
FIELD_VALUES = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.text(alphabet=st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=50),
    st.integers().map(str),
    st.lists(st.text(max_size=20), max_size=5),
    st.sampled_from(["", "0", "6", "-1", "1e9", "true", "null", "<script>", "💥" * 30]),
)


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=st.dictionaries(
        st.sampled_from(["rating", "categories", "comment", "contact", "consent", "website"]),
        FIELD_VALUES,
    ),
    extra=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
)
def test_fuzzed_submissions_never_500_and_never_store_half_a_row(open_code, fields, extra):
    n = next(CLIENT_NUMBERS)  # a new client each time, so rate limits do not hide validation
    client = Client(REMOTE_ADDR=f"10.9.{n // 256 % 256}.{n % 256}")
    data = {k: v for k, v in {**extra, **fields}.items() if v is not None}
    before = Feedback.objects.count()

    response = client.post(f"/q/{open_code.token}/", data)

    assert response.status_code in {302, 400, 409, 429}, response.status_code
    stored = Feedback.objects.count() - before
    assert stored == (1 if response.status_code == 302 and not data.get("website") else 0)
    for feedback in Feedback.objects.all():
        feedback.full_clean()  # every stored row is whole and valid
    Feedback.objects.all().delete()
    Enrollment.objects.update(feedback_count=0)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_trial_limit_holds_under_20_parallel_submissions(open_code, enrolled):
    Enrollment.objects.filter(pk=enrolled.pk).update(feedback_count=enrolled.trial_limit - 1)
    start = threading.Barrier(20)

    def submit(n: int) -> str:
        try:
            start.wait()
            intake.feedback_submit(
                qr_code=open_code,
                client_hash=f"{n:064x}",
                rating=4,
                categories=["service"],
                comment="Friendly barista and fresh coffee.",
                language="sv",
            )
            return "accepted"
        except intake.FeedbackRefused as refused:
            return str(refused.reason)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(submit, range(20)))

    assert outcomes.count("accepted") == 1, outcomes
    assert set(outcomes) == {"accepted", "full"}
    assert Feedback.objects.count() == 1
    enrolled.refresh_from_db()
    assert enrolled.feedback_count == enrolled.trial_limit


SUBMIT_IN_ANOTHER_PROCESS = """
import json
from pilots import intake
from pilots.models import QRCode
code = QRCode.objects.get(pk={code_id})
try:
    intake.feedback_submit(
        qr_code=code, client_hash="{client}", rating=5, categories=[],
        comment="Warm coffee and a clean table.", language="sv",
    )
    print(json.dumps({{"outcome": "accepted"}}))
except intake.FeedbackRefused as refused:
    print(json.dumps({{"outcome": str(refused.reason)}}))
"""


@pytest.fixture
def shared_cache(settings, tmp_path):
    """The cache every process sees: Redis when configured, else a file cache for this test."""
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        return {}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    return {"CACHE_URL": f"filecache://{tmp_path / 'cache'}"}


def submit_elsewhere(code, client: str, env: dict) -> str:
    script = SUBMIT_IN_ANOTHER_PROCESS.format(code_id=code.pk, client=client)
    process_env = {**os.environ, "DATABASE_URL": worker_database_url(), **env}
    process_env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=PROJECT_DIR,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["outcome"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rate_limit_holds_across_processes(business, shared_cache, settings):
    settings.FEEDBACK_RATE_PER_DEVICE = "1/h"
    first, second = services.qr_codes_generate(business=business, placements=["A", "B"])
    intake.feedback_submit(
        qr_code=first,
        client_hash="c" * 64,
        rating=4,
        categories=[],
        comment="Fresh bun.",
        language="sv",
    )

    outcome = submit_elsewhere(
        second, "c" * 64, {**shared_cache, "FEEDBACK_RATE_PER_DEVICE": "1/h"}
    )

    assert outcome == intake.RATE_LIMITED
    assert Feedback.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_duplicate_rule_holds_across_processes(business, shared_cache):
    (code,) = services.qr_codes_generate(business=business, placements=["A"])
    intake.feedback_submit(
        qr_code=code,
        client_hash="d" * 64,
        rating=5,
        categories=[],
        comment="Warm coffee, and a clean table!",
        language="sv",
    )

    assert submit_elsewhere(code, "d" * 64, shared_cache) == intake.DUPLICATE
    assert submit_elsewhere(code, "e" * 64, shared_cache) == "accepted"
