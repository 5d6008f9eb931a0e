"""pilotops_feature_enabled{feature} and the per-flag request counters on /metrics."""

import re

import pytest

from rollouts import services
from rollouts.models import Flag

pytestmark = pytest.mark.django_db


def sample(body: str, name: str, **labels) -> float | None:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_metrics_show_how_far_each_feature_is_on(
    client, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.flag_change(
            flag=Flag.objects.get(name="quality_rubric_v2"),
            state=Flag.State.CANARY,
            percentage=10,
            reason="canary",
        )
    settings.FEATURE_OVERRIDES = {"new_menu": True}

    body = client.get("/metrics").content.decode()

    assert sample(body, "pilotops_feature_enabled", feature="quality_rubric_v2") == 0.1
    assert sample(body, "pilotops_feature_enabled", feature="sms_reward_links") == 1.0
    assert sample(body, "pilotops_feature_enabled", feature="new_menu") is None  # not a flag


def test_metrics_count_requests_per_flag_variant_and_outcome(client, open_code):
    before = client.get("/metrics").content.decode()
    labels = {"feature": "sms_reward_links", "variant": "on", "outcome": "ok"}
    start = sample(before, "pilotops_feature_requests_total", **labels) or 0

    for n in range(3):
        client.get(f"/q/{open_code.token}/", REMOTE_ADDR=f"10.0.3.{n}")

    after = client.get("/metrics").content.decode()
    assert sample(after, "pilotops_feature_requests_total", **labels) == start + 3
