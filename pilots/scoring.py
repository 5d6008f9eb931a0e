"""The quality score of a feedback: deterministic, 0-100, explained here.

The score decides whether a feedback earns the reward (it must reach the
pilot's threshold, 60 by default), so it rewards what helps the café: a
specific account of the visit, not length for its own sake. The same input
always gives the same score; nothing here reads the clock or the database.

Rubric (points add up to at most 100):

=========================  ======  ============================================
part                       points  how
=========================  ======  ============================================
rating given               10      always, the form requires it
categories chosen          0-15    5 per category, at most 3 count
comment length             0-30    1.5 per word up to 20 words
specific visit words       0-25    5 per distinct word about the visit
                                   (coffee, staff, queue, bulle, kassa, ...)
                                   at most 5 count
more than one sentence     10      two or more sentences of 3+ words
varied wording             10      at least 60 % of the words are distinct
                                   (given 8 or more words)
=========================  ======  ============================================

A comment with no word about the visit is capped at 45, below any sensible
reward threshold: length and polish alone do not earn the reward.

Rubric 2 (behind the ``quality_rubric_v2`` flag; each feedback records the
rubric that scored it) pays less for length and more for what a café can act
on; the parts not listed are scored as in rubric 1:

=========================  ======  ============================================
part                       points  how
=========================  ======  ============================================
comment length             0-20    1 per word up to 20 words
a suggestion               10      a word that proposes a change (could,
                                   should, wish, kunde, borde, önskar, ...)
speaks to its categories   10      a word about one of the chosen categories
                                   (a "price" comment naming the price)
varied wording             —       not scored
=========================  ======  ============================================

Spam signals cap the score at 5 and mark the feedback as spam: a run of 6 or
more of the same character, a link, fewer than 30 % distinct words in a
comment of 8 or more words, a comment that is mostly symbols, or a comment
the same client already sent (copy-paste; the caller says so).
"""

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

MAX_SCORE = 100
SPAM_CAP = 5
UNSPECIFIC_CAP = 45

RATING_POINTS = 10
POINTS_PER_CATEGORY = 5
CATEGORIES_COUNTED = 3
POINTS_PER_WORD = 1.5
WORDS_COUNTED = 20
POINTS_PER_VISIT_WORD = 5
VISIT_WORDS_COUNTED = 5
SENTENCES_POINTS = 10
VARIETY_POINTS = 10
VARIETY_MIN_WORDS = 8
VARIETY_SHARE = 0.6
SPAM_VARIETY_SHARE = 0.3

RUBRIC_1 = 1
RUBRIC_2 = 2
RUBRICS = (RUBRIC_1, RUBRIC_2)
V2_POINTS_PER_WORD = 1.0
SUGGESTION_POINTS = 10
CATEGORY_MATCH_POINTS = 10


# Stems of words that propose a change, Swedish and English.
SUGGESTION_STEMS = (
    "could",
    "should",
    "would",
    "wish",
    "suggest",
    "maybe",
    "perhaps",
    "please",
    "more",
    "less",
    "kunde",
    "borde",
    "skulle",
    "önska",
    "förslag",
    "tips",
    "gärna",
    "kanske",
    "mer",
    "mindre",
)
# Stems of words about each category of the form (each is about the visit too).
CATEGORY_STEMS = {
    "service": (
        "staff",
        "barista",
        "waiter",
        "service",
        "friendly",
        "rude",
        "personal",
        "servering",
        "trevlig",
        "otrevlig",
    ),
    "food_drink": (
        "coffee",
        "latte",
        "cappuccino",
        "espresso",
        "tea",
        "bun",
        "cake",
        "pastr",
        "sandwich",
        "soup",
        "lunch",
        "breakfast",
        "food",
        "drink",
        "milk",
        "kaffe",
        "bulle",
        "bulla",
        "kanel",
        "kardemumma",
        "kaka",
        "tårta",
        "smörgås",
        "macka",
        "soppa",
        "frukost",
        "mat",
        "dryck",
        "mjölk",
        "fika",
    ),
    "cleanliness": (
        "clean",
        "dirty",
        "toilet",
        "ren",
        "smutsig",
        "toalett",
    ),
    "atmosphere": (
        "music",
        "noise",
        "loud",
        "quiet",
        "table",
        "chair",
        "seat",
        "window",
        "musik",
        "ljud",
        "tyst",
        "bord",
        "stol",
        "plats",
        "fönster",
    ),
    "price": (
        "price",
        "expensive",
        "cheap",
        "pris",
        "dyr",
        "billig",
    ),
    "waiting_time": (
        "queue",
        "line",
        "wait",
        "slow",
        "fast",
        "kö",
        "vänta",
        "väntan",
        "långsam",
        "snabb",
    ),
}
OTHER_VISIT_STEMS = (
    "counter",
    "cashier",
    "menu",
    "fresh",
    "warm",
    "cold",
    "wifi",
    "hög",
    "kassa",
    "meny",
    "färsk",
    "varm",
    "kall",
)

# Stems of words about a café visit, Swedish and English: those of the
# categories and a few more. A word counts when it starts with one of these (so
# "kaffet", "coffees", "baristan" count).
VISIT_WORD_STEMS = (
    *(stem for stems in CATEGORY_STEMS.values() for stem in stems),
    *OTHER_VISIT_STEMS,
)

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SENTENCE_SPLIT = re.compile(r"[.!?]+")
_REPEATED_CHARACTER = re.compile(r"(.)\1{5,}", re.DOTALL)
_LINK = re.compile(r"https?://|www\.|\.(?:com|se|net|org|ru|io)\b", re.IGNORECASE)


@dataclass(frozen=True)
class QualityAssessment:
    score: int
    is_spam: bool
    reasons: list[str] = field(default_factory=list)
    rubric: int = RUBRIC_1


def _words(text: str) -> list[str]:
    return [word.casefold() for word in _WORD.findall(text)]


def _visit_words(words: list[str]) -> set[str]:
    return {word for word in words if word.startswith(VISIT_WORD_STEMS)}


def _sentences(text: str) -> int:
    return sum(1 for part in _SENTENCE_SPLIT.split(text) if len(_words(part)) >= 3)


def _spam_signals(comment: str, words: list[str], *, repeated: bool) -> list[str]:
    signals = []
    if _REPEATED_CHARACTER.search(comment):
        signals.append("a character repeated many times")
    if _LINK.search(comment):
        signals.append("a link")
    if len(words) >= VARIETY_MIN_WORDS and len(set(words)) / len(words) < SPAM_VARIETY_SHARE:
        signals.append("the same words over and over")
    stripped = comment.strip()
    letters = sum(len(word) for word in words)
    if len(stripped) >= 10 and letters / len(stripped) < 0.4:
        signals.append("mostly symbols")
    if repeated and stripped:
        signals.append("the same comment sent before")
    return signals


def _points_of_the_comment(
    words: list[str], visit_words: set[str], comment: str, *, per_word: float
) -> float:
    """Length, visit words and sentences: the parts both rubrics score (length differently)."""
    points = per_word * min(len(words), WORDS_COUNTED)
    points += POINTS_PER_VISIT_WORD * min(len(visit_words), VISIT_WORDS_COUNTED)
    if _sentences(comment) >= 2:
        points += SENTENCES_POINTS
    return points


def _points_rubric_1(words: list[str], visit_words: set[str], comment: str) -> float:
    points = _points_of_the_comment(words, visit_words, comment, per_word=POINTS_PER_WORD)
    if len(words) >= VARIETY_MIN_WORDS and len(set(words)) / len(words) >= VARIETY_SHARE:
        points += VARIETY_POINTS
    return points


def _points_rubric_2(
    words: list[str], visit_words: set[str], comment: str, categories: list[str]
) -> float:
    points = _points_of_the_comment(words, visit_words, comment, per_word=V2_POINTS_PER_WORD)
    if any(word.startswith(SUGGESTION_STEMS) for word in words):
        points += SUGGESTION_POINTS
    stems = tuple(stem for category in set(categories) for stem in CATEGORY_STEMS.get(category, ()))
    if stems and any(word.startswith(stems) for word in words):
        points += CATEGORY_MATCH_POINTS
    return points


def assess_quality(
    *,
    rating: int | None,
    categories: list[str],
    comment: str,
    repeated: bool = False,
    rubric: int = RUBRIC_1,
) -> QualityAssessment:
    """Score one feedback by ``rubric`` (1 or 2, see above).

    ``repeated`` is True when the same client already sent this comment text.
    """
    if rubric not in RUBRICS:
        raise ValueError(f"no quality rubric {rubric!r}")
    words = _words(comment)
    reasons: list[str] = []
    score = 0.0
    if rating is not None:
        score += RATING_POINTS
    score += POINTS_PER_CATEGORY * min(len(set(categories)), CATEGORIES_COUNTED)
    visit_words = _visit_words(words)
    if rubric == RUBRIC_1:
        score += _points_rubric_1(words, visit_words, comment)
    else:
        score += _points_rubric_2(words, visit_words, comment, categories)
    final = min(MAX_SCORE, round(score))
    if not words:
        reasons.append("no comment")
    elif not visit_words:
        reasons.append("nothing specific about the visit")
        final = min(final, UNSPECIFIC_CAP)

    spam = _spam_signals(comment, words, repeated=repeated)
    if spam:
        final = min(final, SPAM_CAP)
        reasons.extend(spam)
    return QualityAssessment(score=final, is_spam=bool(spam), reasons=reasons, rubric=rubric)


# Two comments at least this similar (difflib's ratio over their words) say the same thing.
NEAR_IDENTICAL_RATIO = 0.9


def near_identical(*, rating: int, comment: str, other_rating: int, other_comment: str) -> bool:
    """Whether two submissions say the same thing: the same rating and (almost) the same words.

    Case, punctuation and spacing do not count; a typo fixed or a word added to
    a long comment still reads as the same feedback sent again.
    """
    if rating != other_rating:
        return False
    words, other_words = _words(comment), _words(other_comment)
    if words == other_words:
        return True
    if not words or not other_words:
        return False
    return SequenceMatcher(None, words, other_words).ratio() >= NEAR_IDENTICAL_RATIO
