"""Pilot, enrollment and QR code services: allowed changes, clear refusals, history."""

import datetime
import re

import pytest
from django.utils import timezone

from core.models import Event
from pilots import services
from pilots.models import Enrollment, Pilot, QRCode

pytestmark = pytest.mark.django_db


def history(obj) -> list[str]:
    from django.contrib.contenttypes.models import ContentType

    return list(
        Event.objects.filter(
            subject_type=ContentType.objects.get_for_model(obj), subject_id=obj.pk
        ).values_list("action", flat=True)
    )


# --- pilots -------------------------------------------------------------------
def test_pilot_lifecycle_walks_the_allowed_path_and_records_it(pilot, admin_user):
    for service, status in [
        (services.pilot_activate, Pilot.Status.ACTIVE),
        (services.pilot_pause, Pilot.Status.PAUSED),
        (services.pilot_resume, Pilot.Status.ACTIVE),
        (services.pilot_complete, Pilot.Status.COMPLETED),
    ]:
        pilot = service(pilot=pilot, actor=admin_user)
        assert pilot.status == status

    pilot.refresh_from_db()
    assert pilot.status == Pilot.Status.COMPLETED
    assert history(pilot) == ["pilot_complete", "pilot_resume", "pilot_pause", "pilot_activate"]
    assert Event.objects.filter(actor=admin_user).count() == 4


@pytest.mark.parametrize(
    ("service", "start_with", "words"),
    [
        (services.pilot_complete, [], "only active or paused pilots can be completed"),
        (services.pilot_pause, [], "only active pilots can be paused"),
        (services.pilot_resume, [services.pilot_activate], "only paused pilots can be resumed"),
        (services.pilot_activate, [services.pilot_activate], "only draft pilots"),
        (
            services.pilot_activate,
            [services.pilot_activate, services.pilot_cancel],
            "it is cancelled",
        ),
    ],
)
def test_pilot_invalid_transitions_are_refused_with_a_clear_reason(
    pilot, service, start_with, words
):
    for step in start_with:
        pilot = step(pilot=pilot)
    status_before = Pilot.objects.get(pk=pilot.pk).status

    with pytest.raises(services.PilotTransitionError) as refused:
        service(pilot=pilot)

    assert words in refused.value.messages[0]
    assert Pilot.objects.get(pk=pilot.pk).status == status_before


def test_pilot_past_its_end_date_cannot_be_activated(make_pilot):
    ended = make_pilot(
        "Ended",
        starts_on=datetime.date(2025, 1, 1),
        ends_on=timezone.localdate() - datetime.timedelta(days=1),
    )

    with pytest.raises(services.PilotTransitionError, match="it ended on"):
        services.pilot_activate(pilot=ended)


def test_pilot_complete_closes_its_active_enrollments(active_pilot, make_business):
    enrollments = [
        services.enrollment_create(pilot=active_pilot, business=make_business(name))
        for name in ("Café A", "Café B")
    ]

    services.pilot_complete(pilot=active_pilot)

    for enrollment in enrollments:
        enrollment.refresh_from_db()
        assert enrollment.status == Enrollment.Status.CLOSED
        assert enrollment.ended_at is not None
        assert "enrollment_closed" in history(enrollment)


# --- enrollments --------------------------------------------------------------
def test_enrollment_takes_the_pilots_trial_limit_unless_given(make_pilot, make_business):
    pilot = make_pilot("Small", default_trial_limit=40)

    default = services.enrollment_create(pilot=pilot, business=make_business("Café A"))
    own = services.enrollment_create(pilot=pilot, business=make_business("Café B"), trial_limit=7)

    assert (default.trial_limit, own.trial_limit) == (40, 7)
    assert history(pilot).count("enrollment_create") == 2


def test_enrollment_second_active_one_is_refused_readably(business, make_pilot):
    services.enrollment_create(pilot=make_pilot("Spring"), business=business)

    with pytest.raises(services.EnrollmentError, match="already enrolled"):
        services.enrollment_create(pilot=make_pilot("Autumn"), business=business)


def test_enrollment_in_an_ended_pilot_is_refused(business, pilot):
    services.pilot_cancel(pilot=pilot)

    with pytest.raises(services.EnrollmentError, match="cancelled"):
        services.enrollment_create(pilot=pilot, business=business)


def test_enrollment_withdraw_frees_the_business_for_another_pilot(business, make_pilot):
    enrollment = services.enrollment_create(pilot=make_pilot("Spring"), business=business)

    services.enrollment_withdraw(enrollment=enrollment, reason="closing for renovation")
    again = services.enrollment_create(pilot=make_pilot("Autumn"), business=business)

    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.WITHDRAWN
    assert again.status == Enrollment.Status.ACTIVE
    with pytest.raises(services.EnrollmentError, match="not active"):
        services.enrollment_withdraw(enrollment=enrollment)


def test_enrollment_trial_limit_change_is_recorded(business, pilot):
    enrollment = services.enrollment_create(pilot=pilot, business=business)

    services.enrollment_trial_limit_set(enrollment=enrollment, trial_limit=250)

    enrollment.refresh_from_db()
    assert enrollment.trial_limit == 250
    assert "enrollment_trial_limit" in history(enrollment)


# --- QR codes -----------------------------------------------------------------
def test_qr_generate_issues_one_unguessable_code_per_placement(business):
    codes = services.qr_codes_generate(business=business, placements=["Table 1", " Counter ", ""])

    assert [code.placement for code in codes] == ["Table 1", "Counter"]
    for code in codes:
        assert re.fullmatch(r"[a-z2-7]{28}", code.token), "136 bits of lower-case base32"
        assert code.public_url.endswith(f"/q/{code.token}/")
    assert len({code.token for code in codes}) == 2
    assert "qr_generate" in history(business)


def test_qr_generate_refuses_placements_that_already_have_a_code(business):
    services.qr_codes_generate(business=business, placements=["Table 1"])

    with pytest.raises(services.QRCodeError, match="Table 1"):
        services.qr_codes_generate(business=business, placements=["Table 1", "Table 2"])
    assert business.qr_codes.count() == 1


def test_qr_generate_refuses_a_placement_listed_twice(business):
    with pytest.raises(services.QRCodeError, match="twice"):
        services.qr_codes_generate(business=business, placements=["Table 1", "table 1"])


def test_qr_revoke_keeps_the_row_so_the_token_is_never_reused(business):
    (code,) = services.qr_codes_generate(business=business, placements=["Table 1"])

    services.qr_code_revoke(qr_code=code)

    code.refresh_from_db()
    assert code.status == QRCode.Status.REVOKED
    assert code.revoked_at is not None
    with pytest.raises(services.QRCodeError, match="already revoked"):
        services.qr_code_revoke(qr_code=code)


def test_qr_regenerate_gives_a_new_token_for_the_same_placement(business):
    (old,) = services.qr_codes_generate(business=business, placements=["Table 4"])

    new = services.qr_code_regenerate(qr_code=old)

    old.refresh_from_db()
    assert new.placement == "Table 4"
    assert new.token != old.token
    assert new.status == QRCode.Status.ACTIVE
    assert old.status == QRCode.Status.REVOKED
    assert old.replaced_by == new
    assert QRCode.objects.filter(token=old.token).count() == 1


def test_qr_tokens_do_not_repeat_over_many_codes(business):
    codes = services.qr_codes_generate(
        business=business, placements=[f"Table {n}" for n in range(200)]
    )

    assert len({code.token for code in codes}) == 200
