"""Feature flags: deterministic bucketing, the environment's word, one read per request."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import flags
from core.flags import CANARY, OFF, ON, FlagRule, Tenant, flag_is_on, flag_scope, rule_admits
from core.models import FeatureRequestCount
from tests.conftest import Client, feedback_post, run_manage

SYNTHETIC = range(1, 10_001)


def share_in(percentage: int, name: str = "new_menu") -> set[int]:
    rule = FlagRule(name=name, state=CANARY, tags=frozenset(), percentage=percentage)
    return {key for key in SYNTHETIC if rule_admits(rule, Tenant(key=key))}


def test_bucketing_a_10_percent_rollout_takes_10_percent_of_10000_businesses_within_a_point():
    inside = share_in(10)

    assert 900 <= len(inside) <= 1100


@pytest.mark.parametrize("name", ["sms_reward_links", "quality_rubric_v2", "new_menu"])
def test_bucketing_every_business_in_at_10_percent_is_still_in_at_50_and_100(name):
    at_10, at_50, at_100 = share_in(10, name), share_in(50, name), share_in(100, name)

    assert at_10 <= at_50 <= at_100
    assert 4800 <= len(at_50) <= 5200
    assert len(at_100) == len(SYNTHETIC)
    assert share_in(0, name) == set()


def test_bucketing_differs_between_flags():
    assert share_in(10, "new_menu") != share_in(10, "sms_reward_links")


BUCKETS_SCRIPT = (
    "from core.flags import bucket; "
    "print(','.join(str(bucket('new_menu', key)) for key in range(1, 10001)))"
)


def test_bucketing_is_the_same_in_another_process_with_another_hash_seed():
    here = ",".join(str(flags.bucket("new_menu", key)) for key in SYNTHETIC)
    answers = []
    for seed in ("1", "2"):
        result = run_manage("shell", "-c", BUCKETS_SCRIPT, env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        answers.append(result.stdout.strip().splitlines()[-1])

    assert answers == [here, here]


def test_audience_is_the_targeted_tags_and_on_means_the_whole_audience():
    rule = FlagRule(name="new_menu", state=ON, tags=frozenset({"beta"}), percentage=0)

    assert rule_admits(rule, Tenant(key=1, tags=frozenset({"beta", "stockholm"})))
    assert not rule_admits(rule, Tenant(key=1, tags=frozenset({"stockholm"})))
    assert not rule_admits(rule, None)
    assert rule_admits(FlagRule("x", ON, frozenset(), 0), None)
    assert not rule_admits(FlagRule("x", OFF, frozenset(), 100), Tenant(key=1))


# ------------------------------------------------------------------------------
# Stored flags, the environment's word
# ------------------------------------------------------------------------------
@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def stored_flag(db, committed):
    from rollouts import services

    def make(name="new_menu", **changes):
        with committed():
            flag = services.flag_create(name=name)
            if changes:
                flag = services.flag_change(flag=flag, reason="test", **changes)
        return flag

    return make


def test_flag_stored_on_is_on_and_stored_off_is_off(stored_flag):
    stored_flag("new_menu", state=ON)
    stored_flag("old_menu")

    assert flag_is_on("new_menu", tenant=Tenant(key=7))
    assert not flag_is_on("old_menu", tenant=Tenant(key=7))


def test_flag_environment_override_beats_the_database_both_ways(stored_flag, settings):
    stored_flag("new_menu", state=ON)
    stored_flag("old_menu")
    settings.FEATURE_OVERRIDES = {"new_menu": False, "old_menu": True}

    assert not flag_is_on("new_menu", tenant=Tenant(key=7))
    assert flag_is_on("old_menu", tenant=Tenant(key=7))
    assert flag_is_on("old_menu", tenant=None)


def test_flag_change_is_seen_at_once_through_the_cache(stored_flag, committed):
    from rollouts import services

    flag = stored_flag("new_menu")
    assert not flag_is_on("new_menu", tenant=Tenant(key=7))  # now cached as off

    with committed():
        services.flag_change(flag=flag, state=ON, reason="ship it")

    assert flag_is_on("new_menu", tenant=Tenant(key=7))


def test_flag_unknown_name_answers_the_declared_default(db):
    from pilots.features import QUALITY_RUBRIC_V2, SMS_REWARD_LINKS
    from rollouts.models import Flag

    Flag.objects.all().delete()
    flags.rules_invalidate()

    assert flag_is_on(SMS_REWARD_LINKS, tenant=Tenant(key=1)) is True
    assert flag_is_on(QUALITY_RUBRIC_V2, tenant=Tenant(key=1)) is False


def test_settings_read_feature_overrides_from_the_environment():
    printed = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(sorted(settings.FEATURE_OVERRIDES.items()))",
        env={"FEATURE_SMS_REWARD_LINKS": "0", "FEATURE_NEW_MENU": "1"},
    )

    assert printed.returncode == 0, printed.stderr
    assert "[('new_menu', True), ('sms_reward_links', False)]" in printed.stdout


def test_settings_refuse_a_feature_override_that_is_not_1_or_0():
    result = run_manage("check", env={"FEATURE_NEW_MENU": "maybe"})

    assert result.returncode == 1
    assert "FEATURE_NEW_MENU must be 1 or 0" in result.stderr


# ------------------------------------------------------------------------------
# Cost: one read per request, none when cached
# ------------------------------------------------------------------------------
def test_flag_checks_in_one_scope_read_the_rules_and_entitlements_once(stored_flag):
    stored_flag("new_menu", state=CANARY, percentage=50)
    stored_flag("old_menu", state=ON)

    with CaptureQueriesContext(connection) as captured, flag_scope():
        answers = [
            flag_is_on(name, tenant=Tenant(key=key))
            for _ in range(3)
            for name in ("new_menu", "old_menu")
            for key in range(20)
        ]

    # One read of the rules, one of the features plans grant (billing's entitlements).
    assert len(captured) == 2
    assert sum("rollouts_flag" in query["sql"] for query in captured) == 1
    assert sum("billing_subscription" in query["sql"] for query in captured) == 1
    assert answers.count(True) > 20  # old_menu is on for all, new_menu for some


def test_flag_checks_with_rules_cached_run_no_query(stored_flag):
    stored_flag("new_menu", state=ON)
    flag_is_on("new_menu", tenant=Tenant(key=1))

    with CaptureQueriesContext(connection) as captured, flag_scope():
        assert flag_is_on("new_menu", tenant=Tenant(key=2))

    assert list(captured) == []


def test_form_page_checks_flags_with_no_query_after_the_first(client, open_code, settings):
    """The form page reads the rules once; with them cached, a view runs no query at all."""
    settings.SCAN_COUNTS_IN_CACHE = True
    settings.FEATURE_COUNTS_FLUSH_SECONDS = 3600

    with CaptureQueriesContext(connection) as first:
        assert client.get(f"/q/{open_code.token}/", REMOTE_ADDR="10.0.0.1").status_code == 200
    with CaptureQueriesContext(connection) as later:
        for n in range(2, 6):
            response = client.get(f"/q/{open_code.token}/", REMOTE_ADDR=f"10.0.0.{n}")
            assert response.status_code == 200

    assert sum("rollouts_flag" in query["sql"] for query in first) == 1
    assert list(later) == []
    assert "E-post eller mobilnummer" in response.content.decode()
    assert flags.tally.take(), "the form page's requests checked a flag and were counted"


# ------------------------------------------------------------------------------
# Requests touching a flag
# ------------------------------------------------------------------------------
def test_requests_touching_a_flag_are_counted_by_variant_and_failure(open_code, settings):
    from pilots import intake

    settings.FEATURE_COUNTS_FLUSH_SECONDS = 0
    client = Client(raise_request_exception=False)
    for n in range(3):
        client.get(f"/q/{open_code.token}/", REMOTE_ADDR=f"10.0.1.{n}")

    def broken(**submission):
        raise RuntimeError("a bug in the new behaviour")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(intake, "feedback_submit", broken)
        response = client.post(f"/q/{open_code.token}/", feedback_post(), REMOTE_ADDR="10.0.1.9")
    assert response.status_code == 500

    now = timezone.now()
    figures = flags.request_figures(
        "sms_reward_links", since=now - timedelta(minutes=5), until=now + timedelta(minutes=1)
    )
    assert figures[flags.VARIANT_ON] == flags.RequestFigures(requests=4, errors=1)
    assert figures[flags.VARIANT_OFF] == flags.RequestFigures()


def test_request_counts_are_written_at_most_once_per_interval(open_code, settings):
    settings.FEATURE_COUNTS_FLUSH_SECONDS = 3600
    flags.request_counts_write()  # the interval starts now

    for n in range(3):
        Client().get(f"/q/{open_code.token}/", REMOTE_ADDR=f"10.0.2.{n}")

    assert not FeatureRequestCount.objects.exists()
    assert flags.request_counts_write() == 1
    assert FeatureRequestCount.objects.get().requests == 3
