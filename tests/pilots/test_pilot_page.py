"""A pilot's life from its own page: Activate, Pause, Resume, Complete and its success report."""

import pytest

from pilots.models import Enrollment, Pilot

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_draft_to_active_to_paused_to_completed_on_the_pilot_page(manager_client, pilot, business):
    from pilots.services import enrollment_create

    enrollment_create(pilot=pilot, business=business)
    url = f"/admin/pilots/pilot/{pilot.pk}"

    draft_page = manager_client.get(f"{url}/change/").content.decode()
    manager_client.post(f"{url}/lifecycle/activate/")
    active_page = manager_client.get(f"{url}/change/").content.decode()
    manager_client.post(f"{url}/lifecycle/pause/")
    manager_client.post(f"{url}/lifecycle/complete/")

    pilot.refresh_from_db()
    assert 'id="pilot-activate"' in draft_page and 'id="pilot-pause"' not in draft_page
    assert 'id="pilot-pause"' in active_page and 'id="pilot-activate"' not in active_page
    assert f'href="/admin/pilots/pilot/{pilot.pk}/report/"' in active_page
    assert pilot.status == Pilot.Status.COMPLETED
    assert Enrollment.objects.get(pilot=pilot).status == Enrollment.Status.CLOSED


def test_a_refused_or_unknown_transition_is_a_message(manager_client, pilot):
    url = f"/admin/pilots/pilot/{pilot.pk}/lifecycle"

    refused = manager_client.post(f"{url}/pause/")  # a draft cannot be paused
    unknown = manager_client.post(f"{url}/explode/")
    page = manager_client.get(f"/admin/pilots/pilot/{pilot.pk}/change/")

    assert refused.status_code == unknown.status_code == 302
    assert any("only active pilots can be paused" in m for m in messages_of(refused))
    assert any("not something a pilot can do" in m for m in messages_of(unknown))
    assert page.status_code == 200
    assert Pilot.objects.get(pk=pilot.pk).status == Pilot.Status.DRAFT


def test_agents_and_viewers_cannot_change_a_pilots_life(agent_client, viewer_client, pilot):
    for client in (agent_client, viewer_client):
        response = client.post(f"/admin/pilots/pilot/{pilot.pk}/lifecycle/activate/")
        assert response.status_code == 403
        assert (
            'id="pilot-activate"'
            not in client.get(f"/admin/pilots/pilot/{pilot.pk}/change/").content.decode()
        )
    assert Pilot.objects.get(pk=pilot.pk).status == Pilot.Status.DRAFT


def test_cafe_status_actions_close_and_reopen_its_form(
    manager_client, viewer_client, open_code, django_capture_on_commit_callbacks
):
    from core.models import Event
    from pilots.models import Business

    business = open_code.business

    def act(client, action: str):
        with django_capture_on_commit_callbacks(execute=True):  # the form's cached facts go
            return client.post(
                "/admin/pilots/business/", {"action": action, "_selected_action": [business.pk]}
            )

    act(manager_client, "mark_paused")
    paused = manager_client.get(f"/q/{open_code.token}/")
    act(viewer_client, "mark_churned")  # viewers are offered no such action
    unchanged = Business.objects.get(pk=business.pk).status
    act(manager_client, "mark_active")
    reopened = manager_client.get(f"/q/{open_code.token}/")

    assert unchanged == Business.Status.PAUSED
    assert paused.status_code != 200 and reopened.status_code == 200
    assert Business.objects.get(pk=business.pk).status == Business.Status.ACTIVE
    assert Event.objects.filter(action="business_status").count() == 2


def test_a_status_changed_in_the_cafe_form_is_recorded_like_the_actions(manager_client, business):
    from core.models import Event
    from tests.admin_forms import change_form_data

    url = f"/admin/pilots/business/{business.pk}/change/"
    data = change_form_data(manager_client.get(url), status="paused")

    response = manager_client.post(url, data)

    business.refresh_from_db()
    assert response.status_code == 302
    assert business.status == "paused"
    event = Event.objects.get(action="business_status")
    assert event.message == "Active → Paused."
