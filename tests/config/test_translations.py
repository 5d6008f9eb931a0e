"""The Swedish catalogue is complete and its compiled form matches it."""

import gettext
import re

from tests.conftest import PROJECT_DIR

CATALOGUE = PROJECT_DIR / "locale" / "sv" / "LC_MESSAGES"


def po_entries() -> dict[str, str]:
    entries = {}
    for block in (CATALOGUE / "django.po").read_text().split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.MULTILINE)
        msgstr = re.search(r'^msgstr ((?:".*"\n?)+)', block, re.MULTILINE)
        if msgid and msgstr:
            join = lambda text: "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', text))  # noqa: E731
            if join(msgid.group(1)):
                entries[join(msgid.group(1))] = join(msgstr.group(1))
    return entries


def test_translations_every_swedish_message_is_translated():
    entries = po_entries()

    assert "#, fuzzy" not in (CATALOGUE / "django.po").read_text(), "fuzzy guesses are not used"
    assert len(entries) > 50
    assert [msgid for msgid, msgstr in entries.items() if not msgstr] == []


def test_translations_compiled_catalogue_matches_the_source():
    with (CATALOGUE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)

    for msgid, msgstr in po_entries().items():
        expected = msgstr.replace('\\"', '"')
        assert catalogue.gettext(msgid.replace('\\"', '"')) == expected, msgid
