"""The pilot manager's day in the admin, and what the other groups may not do."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pilots import services
from pilots.models import Business, Enrollment, Pilot, QRCode
from tests.admin_forms import change_form_data

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def run_action(client, model: str, action: str, objects) -> object:
    return client.post(
        f"/admin/pilots/{model}/",
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
        follow=True,
    )


# --- pilots -------------------------------------------------------------------
def test_admin_manager_creates_a_pilot_with_targets(manager_client):
    page = manager_client.get("/admin/pilots/pilot/add/")
    assert page.status_code == 200
    assert "Targets" in page.content.decode()

    response = manager_client.post(
        "/admin/pilots/pilot/add/",
        change_form_data(
            page,
            name="Autumn pilot",
            slug="autumn-pilot",
            starts_on="2026-12-01",
            ends_on="2027-01-31",
            target_quality="70",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    pilot = Pilot.objects.get(slug="autumn-pilot")
    assert pilot.status == Pilot.Status.DRAFT
    assert pilot.target_quality == 70
    assert pilot.reward_amount == 1000


def test_admin_pilot_form_shows_constraint_errors_readably(manager_client):
    page = manager_client.get("/admin/pilots/pilot/add/")

    response = manager_client.post(
        "/admin/pilots/pilot/add/",
        change_form_data(
            page,
            name="Backwards",
            slug="backwards",
            starts_on="2026-12-31",
            ends_on="2026-12-01",
            target_completion="120",
        ),
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert "must start on or before its end date" in text
    assert not Pilot.objects.filter(slug="backwards").exists()


def test_admin_actions_move_a_pilot_through_its_statuses(manager_client, pilot):
    response = run_action(manager_client, "pilot", "activate", [pilot])
    assert "1 pilot activated." in messages_of(response)

    run_action(manager_client, "pilot", "pause", [pilot])
    run_action(manager_client, "pilot", "resume", [pilot])
    run_action(manager_client, "pilot", "complete", [pilot])

    pilot.refresh_from_db()
    assert pilot.status == Pilot.Status.COMPLETED


def test_admin_invalid_transition_is_a_message_not_a_500(manager_client, pilot):
    response = run_action(manager_client, "pilot", "complete", [pilot])

    assert response.status_code == 200
    assert any("Cannot complete" in message for message in messages_of(response))
    pilot.refresh_from_db()
    assert pilot.status == Pilot.Status.DRAFT


def test_admin_enrolls_a_business_from_the_pilot_page(manager_client, active_pilot, business):
    page = manager_client.get(f"/admin/pilots/pilot/{active_pilot.pk}/change/")
    data = change_form_data(page)
    data.update(
        {
            "enrollments-TOTAL_FORMS": 1,
            "enrollments-0-business": business.pk,
            "enrollments-0-trial_limit": 150,
        }
    )

    response = manager_client.post(f"/admin/pilots/pilot/{active_pilot.pk}/change/", data)

    assert response.status_code == 302
    enrollment = Enrollment.objects.get(pilot=active_pilot, business=business)
    assert enrollment.trial_limit == 150
    assert enrollment.status == Enrollment.Status.ACTIVE


def test_admin_second_active_enrollment_is_a_readable_error(manager_client, business, make_pilot):
    services.enrollment_create(pilot=make_pilot("Spring"), business=business)
    autumn = make_pilot("Autumn")
    page = manager_client.get("/admin/pilots/enrollment/add/")

    response = manager_client.post(
        "/admin/pilots/enrollment/add/",
        change_form_data(page, pilot=autumn.pk, business=business.pk, trial_limit=100),
    )

    assert response.status_code == 200
    assert "already enrolled in an active pilot" in response.content.decode()
    assert business.enrollments.count() == 1


def test_admin_withdraw_action_ends_an_enrollment(manager_client, business, active_pilot):
    enrollment = services.enrollment_create(pilot=active_pilot, business=business)

    response = run_action(manager_client, "enrollment", "withdraw", [enrollment])

    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.WITHDRAWN
    assert "1 enrollment withdrawn." in messages_of(response)


def test_admin_business_page_summarises_enrollments_codes_and_history(
    manager_client, business, active_pilot
):
    services.enrollment_create(pilot=active_pilot, business=business)
    services.qr_codes_generate(business=business, placements=["Table 1", "Counter"])

    page = manager_client.get(f"/admin/pilots/business/{business.pk}/change/").content.decode()

    assert active_pilot.name in page
    assert "Counter" in page
    assert "2 QR code(s) issued: Table 1, Counter." in page
    assert (
        f"/admin/pilots/qrcode/sheet/?business={business.pk}"
        in manager_client.get("/admin/pilots/business/").content.decode()
    )


def test_admin_business_search_and_autocomplete(manager_client, make_business):
    make_business("Café Aurora", city="Stockholm")
    make_business("Malmö Huset", city="Malmö")

    listing = manager_client.get("/admin/pilots/business/?q=malm").content.decode()
    autocomplete = manager_client.get(
        "/admin/autocomplete/",
        {"term": "auro", "app_label": "pilots", "model_name": "qrcode", "field_name": "business"},
    )

    assert "Malmö Huset" in listing and "Café Aurora" not in listing
    assert [r["text"] for r in autocomplete.json()["results"]] == ["Café Aurora (Stockholm)"]


# --- QR codes -----------------------------------------------------------------
def test_admin_generate_codes_form_issues_codes_and_offers_the_sheet(manager_client, business):
    assert manager_client.get("/admin/pilots/qrcode/generate/").status_code == 200

    response = manager_client.post(
        "/admin/pilots/qrcode/generate/",
        {"business": business.pk, "placements": "Table 1\nTable 2\n\nCounter\n"},
        follow=True,
    )

    assert response.status_code == 200
    assert sorted(business.qr_codes.values_list("placement", flat=True)) == [
        "Counter",
        "Table 1",
        "Table 2",
    ]
    assert any("Print the table cards" in message for message in messages_of(response))


def test_admin_generate_codes_with_a_taken_placement_shows_the_form_again(manager_client, business):
    services.qr_codes_generate(business=business, placements=["Table 1"])

    response = manager_client.post(
        "/admin/pilots/qrcode/generate/", {"business": business.pk, "placements": "Table 1"}
    )

    assert response.status_code == 400
    assert "already have an active code" in response.content.decode()
    assert business.qr_codes.count() == 1


def test_admin_add_qr_code_goes_to_the_generate_form(manager_client):
    response = manager_client.get("/admin/pilots/qrcode/add/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/pilots/qrcode/generate/"


def test_admin_revoke_and_regenerate_actions(manager_client, business):
    first, second = services.qr_codes_generate(business=business, placements=["A", "B"])

    run_action(manager_client, "qrcode", "revoke", [first])
    response = run_action(manager_client, "qrcode", "regenerate", [second])

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == QRCode.Status.REVOKED
    assert second.replaced_by.placement == "B"
    assert second.replaced_by.token != second.token
    (message,) = [m for m in messages_of(response) if "regenerated" in m]
    assert message.startswith("1 code regenerated")
    # The new card is offered for printing at once: the old card no longer works.
    assert f'href="/admin/pilots/qrcode/sheet/?ids={second.replaced_by.pk}"' in message


def test_admin_revoking_a_revoked_code_is_a_message(manager_client, business):
    (code,) = services.qr_codes_generate(business=business, placements=["A"])
    services.qr_code_revoke(qr_code=code)

    response = run_action(manager_client, "qrcode", "revoke", [code])

    assert response.status_code == 200
    assert any("already revoked" in message for message in messages_of(response))


def test_admin_print_sheet_action_opens_the_sheet_of_the_selection(manager_client, business):
    codes = services.qr_codes_generate(business=business, placements=["A", "B", "C"])

    response = manager_client.post(
        "/admin/pilots/qrcode/",
        {"action": "print_sheet", "_selected_action": [codes[0].pk, codes[2].pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == (
        f"/admin/pilots/qrcode/sheet/?ids={codes[0].pk}%2C{codes[2].pk}"
    )


# --- lists stay flat ----------------------------------------------------------
@pytest.mark.parametrize("changelist", ["qrcode", "business", "enrollment", "pilot"])
def test_admin_changelist_queries_do_not_grow_with_rows(manager_client, make_business, changelist):
    def fill(count: int) -> None:
        for n in range(count):
            business = make_business(f"Café {changelist} {Business.objects.count()} {n}")
            pilot = Pilot.objects.create(
                name=f"P{business.pk}",
                slug=f"p{business.pk}",
                starts_on="2026-01-01",
                ends_on="2026-12-31",
            )
            services.enrollment_create(pilot=pilot, business=business)
            services.qr_codes_generate(business=business, placements=["A", "B"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(f"/admin/pilots/{changelist}/").status_code == 200
        return len(captured)

    fill(2)
    few = queries()
    fill(20)

    assert queries() == few


# --- who may do what ----------------------------------------------------------
PAGES = [
    "/admin/pilots/business/",
    "/admin/pilots/pilot/",
    "/admin/pilots/enrollment/",
    "/admin/pilots/qrcode/",
]


@pytest.mark.parametrize("staff_client", ["viewer_client", "agent_client"])
def test_admin_viewers_and_agents_see_everything_in_pilots(
    request, staff_client, business, active_pilot
):
    client = request.getfixturevalue(staff_client)
    services.enrollment_create(pilot=active_pilot, business=business)
    (code,) = services.qr_codes_generate(business=business, placements=["Table 1"])

    for page in PAGES:
        assert client.get(page).status_code == 200, page
    assert client.get(f"/admin/pilots/pilot/{active_pilot.pk}/change/").status_code == 200
    assert client.get(f"/admin/pilots/qrcode/{code.pk}/png/").status_code == 200
    assert client.get(f"/admin/pilots/qrcode/sheet/?ids={code.pk}").status_code == 200


@pytest.mark.parametrize("staff_client", ["viewer_client", "agent_client"])
def test_admin_viewers_and_agents_change_nothing_in_pilots(request, staff_client, business, pilot):
    client = request.getfixturevalue(staff_client)
    (code,) = services.qr_codes_generate(business=business, placements=["Table 1"])

    assert client.get("/admin/pilots/pilot/add/").status_code == 403
    assert client.get("/admin/pilots/business/add/").status_code == 403
    assert client.get("/admin/pilots/qrcode/generate/").status_code == 403
    assert (
        client.post(f"/admin/pilots/pilot/{pilot.pk}/change/", {"name": "Renamed"}).status_code
        == 403
    )
    run_action(client, "pilot", "activate", [pilot])
    run_action(client, "qrcode", "revoke", [code])

    pilot.refresh_from_db()
    code.refresh_from_db()
    assert pilot.status == Pilot.Status.DRAFT
    assert pilot.name == "Swedish café pilot"
    assert code.status == QRCode.Status.ACTIVE


def test_admin_action_menu_offers_changes_only_to_managers(manager_client, viewer_client, pilot):
    def actions(client) -> set[str]:
        form = client.get("/admin/pilots/pilot/").context["action_form"]
        return {choice[0] for choice in form.fields["action"].choices} if form else set()

    assert {"activate", "complete"} <= actions(manager_client)
    assert not {"activate", "complete"} & actions(viewer_client)
