"""The features behind flags, each in both branches: SMS reward links, the second quality rubric."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count

from core.models import Message
from pilots.models import Feedback, Payment, Tag
from pilots.scoring import RUBRIC_1, RUBRIC_2, assess_quality
from pilots.services import qr_codes_generate
from rollouts import services as rollouts
from rollouts.models import Flag
from tests.conftest import SPECIFIC_COMMENT, feedback_post, good_feedback_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def flag_set(committed):
    """Set a stored flag as a Pilot manager would (the change is committed: caches drop)."""

    def set_flag(name: str, *, tags=None, **changes) -> Flag:
        if tags is not None:
            changes["tags"] = [Tag.objects.get_or_create(name=tag)[0] for tag in tags]
        with committed():
            return rollouts.flag_change(flag=Flag.objects.get(name=name), reason="test", **changes)

    return set_flag


def form_url(code) -> str:
    return f"/q/{code.token}/?lang=en"


# ------------------------------------------------------------------------------
# SMS reward links
# ------------------------------------------------------------------------------
def test_sms_links_on_a_phone_number_earns_the_reward_by_sms(client, open_code):
    page = client.get(form_url(open_code)).content.decode()
    assert "E-mail or mobile number" in page

    response = client.post(form_url(open_code), feedback_post(contact="070-123 45 67"))

    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert feedback.contact_phone == "+46701234567" and feedback.reward_eligible
    assert Payment.objects.get().feedback == feedback
    assert Message.objects.get().channel == Message.Channel.SMS


def test_sms_links_off_the_form_asks_for_e_mail_and_refuses_a_phone(client, open_code, flag_set):
    flag_set("sms_reward_links", state=Flag.State.OFF)

    page = client.get(form_url(open_code)).content.decode()
    response = client.post(form_url(open_code), feedback_post(contact="070-123 45 67"))

    assert "E-mail address" in page and "mobile number" not in page
    assert response.status_code == 400
    assert "Rewards are sent by e-mail here" in response.content.decode()
    assert not Feedback.objects.exists() and not Message.objects.exists()

    accepted = client.post(form_url(open_code), feedback_post(contact="anna@example.se"))
    assert accepted.status_code == 302
    assert Message.objects.get().channel == Message.Channel.EMAIL


def test_sms_links_off_the_service_refuses_a_phone_too(open_code, flag_set):
    flag_set("sms_reward_links", state=Flag.State.OFF)

    with pytest.raises(ValidationError, match="Rewards are sent by e-mail here"):
        good_feedback_submit(open_code, contact_phone="+46701234567", consent=True)
    assert not Feedback.objects.exists()


def test_sms_links_follow_the_business_tags(client, enrolled, make_business, flag_set):
    from pilots.services import enrollment_create

    flag_set("sms_reward_links", state=Flag.State.ON, tags=["sms"])
    tagged = enrolled.business
    tagged.tags.add(Tag.objects.get(name="sms"))
    other = make_business("Malmö Huset")
    enrollment_create(pilot=enrolled.pilot, business=other)
    (tagged_code,) = qr_codes_generate(business=tagged, placements=["Table 1"])
    (other_code,) = qr_codes_generate(business=other, placements=["Table 1"])

    phone = feedback_post(contact="0701234567")
    assert client.post(form_url(tagged_code), phone, REMOTE_ADDR="10.1.0.1").status_code == 302
    assert client.post(form_url(other_code), phone, REMOTE_ADDR="10.1.0.2").status_code == 400


# ------------------------------------------------------------------------------
# The second quality rubric
# ------------------------------------------------------------------------------
SUGGESTION = (
    "The coffee was lovely but the price felt high. Maybe you could offer a smaller cup for less?"
)


def test_rubric_2_counts_suggestions_and_comments_about_their_categories():
    first = assess_quality(rating=4, categories=["price"], comment=SUGGESTION, rubric=RUBRIC_1)
    second = assess_quality(rating=4, categories=["price"], comment=SUGGESTION, rubric=RUBRIC_2)
    unrelated = assess_quality(
        rating=4, categories=["cleanliness"], comment=SUGGESTION, rubric=RUBRIC_2
    )

    assert (first.rubric, second.rubric) == (RUBRIC_1, RUBRIC_2)
    assert second.score > first.score
    assert second.score - unrelated.score == 10  # the comment speaks to "price", not "cleanliness"


def test_rubric_2_keeps_the_spam_and_unspecific_caps():
    spam = assess_quality(rating=5, categories=[], comment="Buy now www.spam.ru", rubric=RUBRIC_2)
    vague = assess_quality(
        rating=5,
        categories=["price"],
        comment="It was nice. Maybe you could do more things. We will come back again!",
        rubric=RUBRIC_2,
    )

    assert spam.is_spam and spam.score <= 5
    assert vague.score <= 45


def test_rubric_off_scores_by_the_first_and_records_it(open_code):
    feedback = good_feedback_submit(open_code)

    assert feedback.quality_rubric == RUBRIC_1
    expected = assess_quality(
        rating=5, categories=["service"], comment=feedback.comment, rubric=RUBRIC_1
    )
    assert feedback.quality_score == expected.score


def test_rubric_on_scores_by_the_second_and_records_it(open_code, flag_set):
    flag_set("quality_rubric_v2", state=Flag.State.ON)

    feedback = good_feedback_submit(open_code)

    assert feedback.quality_rubric == RUBRIC_2
    expected = assess_quality(
        rating=5, categories=["service"], comment=feedback.comment, rubric=RUBRIC_2
    )
    assert feedback.quality_score == expected.score
    assert (
        feedback.quality_score
        != assess_quality(
            rating=5, categories=["service"], comment=feedback.comment, rubric=RUBRIC_1
        ).score
    )


def test_success_report_compares_the_two_rubrics(manager_client, open_code, flag_set):
    good_feedback_submit(open_code, client_hash="a" * 64)
    good_feedback_submit(open_code, client_hash="b" * 64, comment=SPECIFIC_COMMENT + " Nice.")
    flag_set("quality_rubric_v2", state=Flag.State.ON)
    good_feedback_submit(open_code, client_hash="c" * 64)
    pilot = open_code.business.enrollments.get().pilot

    page = manager_client.get(f"/admin/pilots/pilot/{pilot.pk}/report/").content.decode()

    assert "quality rubric" in page
    by_rubric = dict(
        Feedback.objects.values_list("quality_rubric").annotate(n=Count("id")).order_by()
    )
    assert by_rubric == {1: 2, 2: 1}
    assert "Rubric 1</td><td>2</td>" in page
    assert "Rubric 2</td><td>1</td>" in page
