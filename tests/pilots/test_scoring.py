"""The quality rubric orders feedback the way a café would."""

from hypothesis import given
from hypothesis import strategies as st

from pilots.models import Category
from pilots.scoring import SPAM_CAP, assess_quality

SPECIFIC = (
    "The cardamom bun was fresh and warm, and the barista was really friendly. "
    "We waited five minutes in the queue at the counter, which was fine."
)


def score(comment: str = "", categories=(), rating=4, repeated=False) -> int:
    return assess_quality(
        rating=rating, categories=list(categories), comment=comment, repeated=repeated
    ).score


def test_score_empty_submission_is_low():
    assert score() <= 15


def test_score_short_vague_comment_sits_between():
    assert score() < score("Nice place") < score(SPECIFIC)


def test_score_specific_detailed_comment_is_high():
    assert score(SPECIFIC, categories=["service", "food_drink"]) >= 85


def test_score_swedish_specific_comment_is_high_too():
    comment = "Kardemummabullen var nybakad och varm. Personalen i kassan var trevlig och snabb."

    assert score(comment, categories=["food_drink"]) >= 70


def test_score_categories_add_up_to_three():
    assert score(categories=["service"]) < score(categories=["service", "price"])
    assert score(categories=Category.values[:3]) == score(categories=Category.values)


def test_score_is_deterministic():
    assert {score(SPECIFIC) for _ in range(5)} == {score(SPECIFIC)}


def test_score_spam_is_near_zero_and_marked():
    for comment in (
        "aaaaaaaaaaaaaaaaaaaaaaaa",
        "great coffee visit www.cheap-pills.ru for more",
        "coffee coffee coffee coffee coffee coffee coffee coffee coffee",
        "!!!!! ???? ***** ##### $$$$$ !!!",
    ):
        assessment = assess_quality(rating=5, categories=["service"], comment=comment)
        assert assessment.is_spam, comment
        assert assessment.score <= SPAM_CAP


def test_score_copy_paste_from_the_same_client_is_spam():
    assessment = assess_quality(rating=5, categories=[], comment=SPECIFIC, repeated=True)

    assert assessment.is_spam
    assert assessment.score <= SPAM_CAP


def test_score_length_and_polish_alone_do_not_reach_the_threshold():
    rambling = (
        "Honestly I think it was all rather something, more or less as expected. "
        "Perhaps another time we might say otherwise, who knows what tomorrow brings."
    )

    assessment = assess_quality(rating=5, categories=["atmosphere"], comment=rambling)
    assert not assessment.is_spam
    assert assessment.score < 60
    assert "nothing specific about the visit" in assessment.reasons


@given(
    comment=st.text(max_size=2000),
    categories=st.lists(st.sampled_from(Category.values), unique=True),
    rating=st.integers(min_value=1, max_value=5),
)
def test_score_is_always_between_0_and_100(comment, categories, rating):
    assert 0 <= score(comment, categories=categories, rating=rating) <= 100
