"""The pilot set-up flow: a new pilot, its cafés, codes and staff cards, in few pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pilots.models import Business, Enrollment, Pilot, QRCode
from support.models import StaffLink

pytestmark = pytest.mark.django_db


def details(**changes) -> dict:
    today = timezone.localdate()
    return {
        "name": "Malmö autumn pilot",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "reward_kronor": "10",
        "default_trial_limit": "150",
        **changes,
    }


def test_a_manager_sets_up_two_new_cafes_with_codes_and_staff_links(manager_client, business):
    first = manager_client.post("/admin/setup/pilot/", details())
    pilot = Pilot.objects.get()
    second = manager_client.post(
        f"/admin/setup/pilot/{pilot.pk}/cafes/",
        {
            "existing": [business.pk],
            "new_cafes": "Café Solsidan; Malmö; 300\nKafé Hamnen; Malmö; 120",
            "trial_limit": "150",
            "placements": "Counter\nTable 1",
        },
    )
    page = manager_client.get(second["Location"]).content.decode()
    staff_cards = manager_client.get(f"/admin/setup/pilot/{pilot.pk}/staff-cards/")

    assert first["Location"] == f"/admin/setup/pilot/{pilot.pk}/cafes/"
    assert (pilot.status, pilot.reward_amount, pilot.default_trial_limit) == ("draft", 1000, 150)
    cafes = {e.business.name: e for e in Enrollment.objects.filter(pilot=pilot)}
    assert set(cafes) == {"Café Aurora", "Café Solsidan", "Kafé Hamnen"}
    assert {e.trial_limit for e in cafes.values()} == {150}
    assert QRCode.objects.filter(business__enrollments__pilot=pilot).count() == 6
    assert StaffLink.objects.filter(status="active").count() == 3
    assert "Print table cards (6)" in page and "Print staff cards (3)" in page
    assert staff_cards.status_code == 200
    assert staff_cards.content.decode().count('<p class="placement">Personal / Staff</p>') == 3


def test_the_first_page_starts_from_the_pilot_defaults_and_explains_bad_dates(manager_client):
    page = manager_client.get("/admin/setup/pilot/").content.decode()
    today = timezone.localdate()
    refused = manager_client.post(
        "/admin/setup/pilot/", details(ends_on=(today - timedelta(days=1)).isoformat())
    )

    assert 'value="10"' in page and 'value="100"' in page
    assert refused.status_code == 200
    assert "must end on or after the day it starts" in refused.content.decode()
    assert not Pilot.objects.exists()


def test_bad_cafe_lines_are_explained_and_nothing_half_done_stays(manager_client, business):
    manager_client.post("/admin/setup/pilot/", details())
    pilot = Pilot.objects.get()

    bad_line = manager_client.post(
        f"/admin/setup/pilot/{pilot.pk}/cafes/",
        {"new_cafes": "Café Solsidan, Malmö", "trial_limit": "10", "placements": "Counter"},
    )
    twice = manager_client.post(
        f"/admin/setup/pilot/{pilot.pk}/cafes/",
        {
            "new_cafes": "Café Solsidan; Malmö; 300",
            "trial_limit": "10",
            "placements": "Counter\ncounter",
        },
    )

    assert "Line 1: write name; city; customers a day" in bad_line.content.decode()
    assert twice.status_code == 200
    assert not Business.objects.filter(name="Café Solsidan").exists()  # all or nothing
    assert not Enrollment.objects.exists()


def test_the_flow_is_for_pilot_managers(agent_client, viewer_client, pilot):
    for client in (agent_client, viewer_client):
        assert client.post("/admin/setup/pilot/", details()).status_code == 403
        assert client.post(f"/admin/setup/pilot/{pilot.pk}/cafes/", {}).status_code == 403
    assert Pilot.objects.count() == 1


def test_cafes_enrolled_on_the_pilot_page_get_their_staff_links_from_the_print_page(
    manager_client, viewer_client, enrolled
):
    pilot = enrolled.pilot

    pilot_page = manager_client.get(f"/admin/pilots/pilot/{pilot.pk}/change/").content.decode()
    before = manager_client.get(f"/admin/setup/pilot/{pilot.pk}/print/").content.decode()
    denied = viewer_client.post(f"/admin/setup/pilot/{pilot.pk}/staff-links/")
    manager_client.post(f"/admin/setup/pilot/{pilot.pk}/staff-links/")
    manager_client.post(f"/admin/setup/pilot/{pilot.pk}/staff-links/")  # twice: still one link
    after = manager_client.get(f"/admin/setup/pilot/{pilot.pk}/print/").content.decode()

    assert f'href="/admin/setup/pilot/{pilot.pk}/print/"' in pilot_page
    assert "Issue staff links for 1 café(s) without one" in before
    assert denied.status_code == 403
    assert StaffLink.objects.filter(business=enrolled.business, status="active").count() == 1
    assert "Issue staff links" not in after and "Print staff cards (1)" in after
