"""Contact data in the admin: masked to look at, never found by filtering, searching,
sorting or exporting, for every staff group; superusers (who hold the
*view contact data* permission) may."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission

from core import roles
from core.models import Message
from core.privacy import CONTACT_DATA_PERMISSION, path_touches_contact_data
from pilots.models import Feedback, Payment, Payout, RewardRecipient, StripeEvent
from support.models import Ticket
from support.services import ticket_create
from tests.conftest import _logged_in_client, good_feedback_submit

pytestmark = pytest.mark.django_db

EMAIL = "gunnar.lind@example.se"
PHONE = "+46701234599"
GROUPS = [roles.VIEWERS, roles.SUPPORT_AGENTS, roles.PILOT_MANAGERS]

# Every admin that shows contact data, a filter that would recover it, and its export.
CONTACT_ADMINS = {
    Feedback: ("/admin/pilots/feedback/", "contact_email__startswith=g", "export.csv"),
    Payment: ("/admin/pilots/payment/", "recipient__contact_email__startswith=g", "export.csv"),
    RewardRecipient: ("/admin/pilots/rewardrecipient/", "contact_email__startswith=g", None),
    Payout: ("/admin/pilots/payout/", "recipient__contact_phone__regex=^%2B46", None),
    StripeEvent: ("/admin/pilots/stripeevent/", "payload__data__object__email__startswith=g", None),
    Ticket: ("/admin/support/ticket/", "reporter_contact__startswith=g", "export.csv"),
    Message: ("/admin/core/message/", "recipient__startswith=g", None),
}


@pytest.fixture
def contact_rows(open_code):
    """One row of each kind, each holding the same contact."""
    feedback = good_feedback_submit(open_code, contact_email=EMAIL, consent=True)
    payment = feedback.payment
    Payout.objects.create(
        recipient=payment.recipient, amount=payment.amount, idempotency_key="payout-test-1"
    )
    StripeEvent.objects.create(
        stripe_id="evt_test_1",
        type="account.updated",
        payload={"data": {"object": {"id": "acct_1", "email": EMAIL}}},
    )
    ticket_create(
        title="Reward missing", reporter_name="Gunnar 070-123 45 99", reporter_contact=EMAIL
    )
    return feedback


def test_every_admin_with_contact_data_uses_the_mixin():
    from core.admin import ContactDataAdminMixin
    from core.privacy import contact_fields

    holding = {
        model
        for model, model_admin in admin.site._registry.items()
        if contact_fields(model)
        or any(
            field.is_relation and field.related_model and contact_fields(field.related_model)
            for field in model._meta.get_fields()
            if field.many_to_one or field.one_to_one
        )
    }

    assert set(CONTACT_ADMINS) <= holding
    for model in holding:
        assert isinstance(admin.site._registry[model], ContactDataAdminMixin), model


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("model", list(CONTACT_ADMINS), ids=lambda model: model.__name__)
def test_filters_on_contact_fields_are_refused_for_every_group(
    contact_rows, staff_member, group, model
):
    client = _logged_in_client(staff_member(group))
    url, lookup, _ = CONTACT_ADMINS[model]

    response = client.get(f"{url}?{lookup}")

    assert response.status_code == 400
    assert EMAIL.encode() not in response.content


@pytest.mark.parametrize(
    "model",
    [Feedback, RewardRecipient, StripeEvent, Ticket, Message],
    ids=lambda model: model.__name__,
)
def test_filters_on_contact_fields_work_for_superusers(contact_rows, admin_client, model):
    """(Lookups through relations stay refused for everyone, as Django does.)"""
    url, lookup, _ = CONTACT_ADMINS[model]

    response = admin_client.get(f"{url}?{lookup}")

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("model", list(CONTACT_ADMINS), ids=lambda model: model.__name__)
def test_lists_and_pages_show_no_contact_value_and_search_and_sort_ignore_it(
    contact_rows, staff_member, group, model, rf
):
    user = staff_member(group)
    client = _logged_in_client(user)
    url, _, _ = CONTACT_ADMINS[model]
    row = model.objects.first()
    model_admin = admin.site._registry[model]
    request = rf.get(url)
    request.user = user

    listed = client.get(url)
    searched = client.get(f"{url}?q=gunnar.lind")
    page = client.get(f"{url}{row.pk}/change/")

    assert listed.status_code == searched.status_code == page.status_code == 200
    for response in (listed, searched, page):
        assert EMAIL.encode() not in response.content
        assert b"070-123 45 99" not in response.content
    assert searched.context["cl"].result_count == 0
    for entry in model_admin.get_search_fields(request):
        assert not path_touches_contact_data(model, entry)
    for entry in (*model_admin.get_sortable_by(request), *model_admin.get_ordering(request)):
        assert not (isinstance(entry, str) and path_touches_contact_data(model, entry))


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize(
    "model", [m for m, (_, _, export) in CONTACT_ADMINS.items() if export], ids=str
)
def test_exports_carry_no_contact_data(contact_rows, staff_member, group, model):
    client = _logged_in_client(staff_member(group))
    url, _, export = CONTACT_ADMINS[model]

    response = client.get(url + export)
    body = b"".join(response.streaming_content).decode()

    assert response.status_code == 200
    assert len(body.splitlines()) == 2  # the header and the one row
    assert EMAIL not in body
    assert "070-123 45 99" not in body


def test_superuser_sees_a_tickets_reporter_and_others_see_it_masked(
    contact_rows, admin_client, agent_client
):
    ticket = Ticket.objects.get()

    operator = admin_client.get(f"/admin/support/ticket/{ticket.pk}/change/").content.decode()
    agent = agent_client.get(f"/admin/support/ticket/{ticket.pk}/change/").content.decode()

    assert EMAIL in operator
    assert EMAIL not in agent
    assert "[email]" in agent
    assert "Gunnar" in operator
    assert "Gunnar" not in agent  # the reporter's name is contact data too
    assert "G. [phone]" in agent


def test_no_group_holds_the_contact_data_permission():
    app_label, codename = CONTACT_DATA_PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)

    assert not Group.objects.filter(permissions=permission).exists()
    assert set(Group.objects.values_list("name", flat=True)) >= set(GROUPS)


def test_the_permission_given_by_hand_opens_contact_filters(contact_rows, staff_member):
    user = staff_member(roles.PILOT_MANAGERS)
    app_label, codename = CONTACT_DATA_PERMISSION.split(".")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )
    client = _logged_in_client(user)

    response = client.get("/admin/pilots/rewardrecipient/?contact_email__startswith=g")

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
