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


# ------------------------------------------------------------------------------
# Every translatable string of the project has a Swedish entry
# ------------------------------------------------------------------------------
GETTEXT_CALLS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
TEMPLATE_GETTEXT = re.compile(r"\b(?:gettext|ngettext)\((u'(?:[^'\\]|\\.)*')")


def _python_msgids(path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        first = node.args[0]
        if name in GETTEXT_CALLS and isinstance(getattr(first, "value", None), str):
            found.add(first.value)
    return found


def _template_msgids(path) -> set[str]:
    import ast

    from django.utils.translation.template import templatize

    text = templatize(path.read_text(), origin=str(path))
    return {ast.literal_eval(literal) for literal in TEMPLATE_GETTEXT.findall(text)}


def project_msgids() -> dict[str, str]:
    """Every string the project marks for translation, and the file it is in."""
    from privacy.papers import project_apps

    found = {}
    for folder in ["config", *sorted(project_apps())]:
        for path in sorted((PROJECT_DIR / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                found.update(dict.fromkeys(_python_msgids(path), str(path)))
    for path in sorted((PROJECT_DIR / "templates").rglob("*")):
        if path.is_file() and path.suffix in (".html", ".txt", ".md"):
            found.update(dict.fromkeys(_template_msgids(path), str(path)))
    return found


def test_translations_every_project_string_has_a_swedish_entry():
    """Ours in locale/sv, or Django's own (the admin's, which the project's templates reuse)."""
    from django.utils import translation

    ours = {
        msgid.replace('\\"', '"').replace("\\n", "\n") for msgid, msgstr in po_entries().items()
    }
    marked = project_msgids()
    with translation.override("sv"):
        missing = {
            msgid: where
            for msgid, where in marked.items()
            if msgid not in ours and translation.gettext(msgid) == msgid
        }

    assert len(marked) > 100
    assert missing == {}
