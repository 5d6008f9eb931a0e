"""`seed_demo` is safe to run again and again."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from core import roles

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_groups_and_a_superuser_it_prints(settings, django_user_model):
    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"

    printed = seed()

    admin = django_user_model.objects.get(username=settings.DEMO_ADMIN_USERNAME)
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("demo-password-for-tests")
    assert f"{admin.username} / demo-password-for-tests" in printed
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


def test_seed_demo_twice_changes_nothing_more(settings, django_user_model):
    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()
    counts = (django_user_model.objects.count(), Group.objects.count())

    seed()

    assert (django_user_model.objects.count(), Group.objects.count()) == counts


def test_seed_demo_without_configured_password_prints_a_random_one_once(
    settings, django_user_model
):
    settings.DEMO_ADMIN_PASSWORD = ""

    first = seed()
    second = seed()

    password = first.split(f"{settings.DEMO_ADMIN_USERNAME} / ")[1].split()[0]
    assert len(password) >= 20
    assert "password unchanged" in second
    assert password not in second
    assert (
        get_user_model().objects.get(username=settings.DEMO_ADMIN_USERNAME).check_password(password)
    )


def test_seed_demo_creates_the_swedish_cafe_pilot_with_codes(settings):
    from pilots.models import Enrollment, Pilot, QRCode

    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()
    seed()

    pilot = Pilot.objects.get(name="Swedish café pilot")
    assert pilot.status == Pilot.Status.ACTIVE
    assert (pilot.reward_amount, pilot.reward_currency, pilot.reward_threshold) == (1000, "SEK", 60)
    assert pilot.default_trial_limit == 100
    assert (
        pilot.target_participation,
        pilot.target_completion,
        pilot.target_quality,
        pilot.target_payment_success,
    ) == (10, 70, 65, 98)
    enrolled = Enrollment.objects.filter(pilot=pilot, status=Enrollment.Status.ACTIVE)
    assert sorted(e.business.name for e in enrolled) == [
        "Café Aurora",
        "Göteborg Café",
        "Malmö Huset",
    ]
    assert {e.business.city for e in enrolled} == {"Stockholm", "Malmö", "Göteborg"}
    for enrollment in enrolled:
        codes = QRCode.objects.filter(business=enrollment.business, status=QRCode.Status.ACTIVE)
        assert codes.count() == 5


def test_seed_demo_adds_a_month_of_feedback_with_one_cafe_near_its_limit(settings):
    from pilots.models import Enrollment, Feedback, ScanCount
    from pilots.selectors import intake_state

    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()
    count = Feedback.objects.count()
    seed()

    assert Feedback.objects.count() == count  # once only
    per_cafe = {e.business.slug: e for e in Enrollment.objects.select_related("business", "pilot")}
    aurora, malmo, goteborg = (
        per_cafe["cafe-aurora"],
        per_cafe["malmo-huset"],
        per_cafe["goteborg-cafe"],
    )
    assert 50 * 30 <= Feedback.objects.filter(business=aurora.business).count() <= 100 * 30
    assert 30 * 30 <= Feedback.objects.filter(business=malmo.business).count() <= 60 * 30
    for enrollment in per_cafe.values():
        assert enrollment.feedback_count <= enrollment.trial_limit
    assert 0 < goteborg.trial_limit - goteborg.feedback_count <= 10
    assert aurora.trial_limit - aurora.feedback_count > 100
    assert set(Feedback.objects.values_list("language", flat=True)) == {"sv", "en"}
    assert ScanCount.objects.filter(business=aurora.business).exists()
    code = goteborg.business.qr_codes.first()
    assert intake_state(code).is_open


def test_seed_demo_feedback_peaks_at_the_cafes_peak_hours(settings):
    from django.utils import timezone

    from pilots.models import Business, Feedback

    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()

    aurora = Business.objects.get(slug="cafe-aurora")
    hours = [
        timezone.localtime(at).time()
        for at in Feedback.objects.filter(business=aurora).values_list("submitted_at", flat=True)
    ]
    in_peaks = sum(
        any(window.starts <= moment < window.ends for window in aurora.peak_windows)
        for moment in hours
    )
    assert in_peaks / len(hours) > 0.6  # 4 of 11 opening hours hold most of the visits


def test_seed_demo_gives_every_eligible_feedback_its_payment(settings):
    from pilots.models import Feedback, Payment

    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()
    seed()

    eligible = Feedback.objects.filter(reward_eligible=True)
    assert eligible.count() == Payment.objects.count() > 0
    assert set(Payment.objects.values_list("status", flat=True)) == {"paid", "pending", "failed"}


def test_seed_demo_adds_staff_links_and_demo_tickets(settings):
    from support.models import StaffLink, Ticket

    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()
    seed()

    assert StaffLink.objects.filter(status="active").count() == 3
    assert Ticket.objects.filter(dedupe_key__startswith="demo:").count() == 4
    assert Ticket.objects.filter(status="waiting").exists()
    assert Ticket.objects.filter(response_breached_at__isnull=False).exists()


def test_seed_demo_dashboard_and_report_show_every_colour(settings):
    from pilots import reporting
    from pilots.models import Pilot

    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()

    colours = {
        figure.colour
        for board in reporting.dashboard()
        for site in board.sites
        for figures in site.periods.values()
        for figure in figures
    }
    pilot = Pilot.objects.get(slug="swedish-cafe-pilot")
    start, end = reporting.report_period(pilot, start=None, end=None)
    report = reporting.pilot_report(pilot, start=start, end=end)
    report_colours = {
        figure.colour for section in (report.overall, *report.sites) for figure in section.figures
    }

    assert {"green", "amber", "red"} <= colours
    assert {"green", "amber", "red"} <= report_colours
