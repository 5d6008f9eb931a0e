"""The database itself holds the pilots' invariants, whatever code writes the rows."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from pilots.models import Enrollment, Pilot, QRCode, parse_peak_hours

pytestmark = pytest.mark.django_db


def rejected(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_constraint_one_active_enrollment_per_business(business, make_pilot):
    first, second = make_pilot("Spring"), make_pilot("Autumn")
    Enrollment.objects.create(pilot=first, business=business, trial_limit=100)

    assert rejected(
        lambda: Enrollment.objects.create(pilot=second, business=business, trial_limit=100)
    )


def test_constraint_allows_a_new_enrollment_after_the_old_one_ended(business, make_pilot):
    from django.utils import timezone

    Enrollment.objects.create(
        pilot=make_pilot("Spring"),
        business=business,
        trial_limit=100,
        status=Enrollment.Status.WITHDRAWN,
        ended_at=timezone.now(),
    )

    Enrollment.objects.create(pilot=make_pilot("Autumn"), business=business, trial_limit=100)

    assert business.enrollments.count() == 2


def test_constraint_trial_limit_must_be_positive(business, pilot):
    assert rejected(
        lambda: Enrollment.objects.create(pilot=pilot, business=business, trial_limit=0)
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"reward_amount": -1},
        {"default_trial_limit": 0},
        {"target_participation": 101},
        {"target_completion": -5},
        {"target_quality": 150},
        {"target_payment_success": 100.5},
        {"reward_threshold": 101},
        {"starts_on": datetime.date(2026, 6, 2), "ends_on": datetime.date(2026, 6, 1)},
    ],
)
def test_constraint_rejects_impossible_pilots(make_pilot, fields):
    assert rejected(lambda: make_pilot("Impossible", **fields))


def test_constraint_accepts_boundary_pilot(make_pilot):
    day = datetime.date(2026, 6, 1)
    pilot = make_pilot(
        "Boundary", starts_on=day, ends_on=day, reward_amount=0, target_payment_success=100
    )

    assert Pilot.objects.filter(pk=pilot.pk).exists()


def test_constraint_qr_tokens_are_unique_across_revoked_codes(business):
    from django.utils import timezone

    QRCode.objects.create(
        business=business,
        placement="Table 1",
        token="abc123abc123abc123",
        status=QRCode.Status.REVOKED,
        revoked_at=timezone.now(),
    )

    assert rejected(
        lambda: QRCode.objects.create(
            business=business, placement="Table 2", token="abc123abc123abc123"
        )
    )


def test_constraint_one_active_code_per_placement(business):
    QRCode.objects.create(business=business, placement="Table 1", token="t" * 27)

    assert rejected(
        lambda: QRCode.objects.create(business=business, placement="Table 1", token="u" * 27)
    )


def test_constraint_revoked_code_has_a_revocation_time(business):
    assert rejected(
        lambda: QRCode.objects.create(
            business=business, placement="Table 1", token="v" * 27, status=QRCode.Status.REVOKED
        )
    )


def test_peak_hours_are_read_as_windows():
    windows = parse_peak_hours("07:30-09:30, 13:00–15:00")

    assert [(w.starts.isoformat(), w.ends.isoformat()) for w in windows] == [
        ("07:30:00", "09:30:00"),
        ("13:00:00", "15:00:00"),
    ]


@pytest.mark.parametrize("text", ["7-9", "09:00-07:00", "25:00-26:00"])
def test_peak_hours_that_make_no_sense_are_refused(text):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        parse_peak_hours(text)


def test_qr_code_text_never_shows_the_token(business):
    code = QRCode.objects.create(business=business, placement="Table 1", token="secret" * 5)

    assert "secret" not in str(code)
