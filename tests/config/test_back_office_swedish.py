"""A Swedish-speaking staff member sees the back office in Swedish.

Every page of the project's admins (each changelist, add form, change form and
custom view that answers a GET with an object's id or nothing; not the
delete confirmations, which list related rows by name) is read twice,
by the same superuser in English and in Swedish. Text that reads the same in
both is English the project forgot to mark — unless it is data (a value held
in the database) or a word that is the same in both languages.

A failure lists, per page, the text left in English. Each app adds the rows the
demo lacks and its other pages in ``tests/<app>/back_office_pages.py``.
"""

import importlib
import io
import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.urls import URLPattern

from core.services import staff_language_set
from tests.conftest import _logged_in_client

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("core", "pilots", "support", "rollouts", "billing", "privacy", "backups")

# Words that are written the same in Swedish and English, names of things, and
# abbreviations. Compared case-insensitively, one word at a time.
_SAME_IN_BOTH = """
    pilot ops sla stripe slack sms pdf csv json qr ok id url api kpi mrr sek öre eur
    status admin incident incidents support p0 p1 p2 p3 sev1 sev2 sev3 sev4 utc
    e-post http https www min max png svg ip dpa dpia it gdpr totp otp html
    prometheus grafana alertmanager celery beat postgresql sqlite redis django
    bas plus pro bin
    feedback example localhost period policy
    plan english svenska salt hash pbkdf sha
"""
SAME_IN_BOTH = set(_SAME_IN_BOTH.split())
WORD = re.compile(r"[^\W\d_]{3,}")


class _VisibleText(HTMLParser):
    """The text a person reads: text nodes and button labels, not scripts or data fields."""

    HIDDEN = {"script", "style", "textarea", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hidden_tags: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        # Permission pickers list Django's permission names as the database holds them.
        if tag in self.HIDDEN or (tag == "select" and "permissions" in attributes.get("name", "")):
            self.hidden_tags.append(tag)
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.texts.append(attributes.get("value") or "")
        for label in ("placeholder", "title", "aria-label"):
            if attributes.get(label):
                self.texts.append(attributes[label])

    def handle_endtag(self, tag):
        if self.hidden_tags and self.hidden_tags[-1] == tag:
            self.hidden_tags.pop()

    def handle_data(self, data):
        if not self.hidden_tags:
            self.texts.append(data)


def visible_texts(html: str) -> set[str]:
    parser = _VisibleText()
    parser.feed(html)
    return {" ".join(text.split()) for text in parser.texts if text.strip()}


def held_values() -> list[str]:
    """Every text held in the project's tables and the users' names: data, not interface."""
    values = set()
    for model in apps.get_models():
        if model._meta.app_label not in (*PROJECT_APPS, "auth"):
            continue
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField)
        ]
        if fields:
            for row in model.objects.values_list(*fields):
                # Values shorter than a word ("en", "sv", "SE") would cut words apart.
                values.update(value for value in row if isinstance(value, str) and len(value) >= 3)
    # Longest first, so that a value is taken out before any value inside it.
    return sorted(values, key=len, reverse=True)


URL = re.compile(r"https?://\S+")


def english_left(text: str, data: list[str]) -> bool:
    text = URL.sub(" ", text)  # an address is data, whatever words it holds
    for value in data:
        if value in text:
            # Whole values only: a short one ("en", a language code) must not cut up a word.
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", text)
    return any(word.lower() not in SAME_IN_BOTH for word in WORD.findall(text))


def _route(pattern: URLPattern) -> str:
    return str(pattern.pattern)


def admin_pages(app_label: str) -> list[str]:
    """Every admin page of one app that a GET reaches with an object's id or with nothing."""
    pages = [f"/admin/{app_label}/"] if app_label in PROJECT_APPS else []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != app_label:
            continue
        prefix = f"/admin/{app_label}/{model._meta.model_name}/"
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern):
                continue
            route = _route(pattern).lstrip("^").rstrip("$")
            parameters = re.findall(r"<(?:\w+:)?(\w+)>", route)
            if parameters and (parameters != ["object_id"] and parameters != ["pk"]):
                continue
            if route.endswith("delete/"):
                continue  # Django's confirmation, listing related rows by name
            if parameters:
                if first is None:
                    continue
                route = re.sub(r"<(?:\w+:)?\w+>", str(first), route)
            if "(?P" in route or route.startswith("<"):
                continue
            pages.append(prefix + route)
    return sorted(set(pages))


def app_pages_module(app_label: str):
    """``tests/<app>/back_office_pages.py``: rows the demo lacks (``make_rows()``) and the
    app's pages outside its model admins (``PAGES``)."""
    try:
        return importlib.import_module(f"tests.{app_label}.back_office_pages")
    except ModuleNotFoundError:
        return None


@pytest.fixture
def swedish_and_english_clients(django_user_model):
    call_command("seed_demo", stdout=io.StringIO())
    for app_label in PROJECT_APPS:
        if module := app_pages_module(app_label):
            module.make_rows()
    reader = django_user_model.objects.create_superuser("läsare", "lasare@example.se", "x")
    english = _logged_in_client(reader)
    swedish_reader = django_user_model.objects.create_superuser("svensk", "svensk@example.se", "x")
    staff_language_set(user=swedish_reader, language="sv")
    return english, _logged_in_client(swedish_reader)


@pytest.mark.parametrize("app_label", [*PROJECT_APPS, "auth"])
def test_back_office_swedish_staff_read_every_page_in_swedish(
    app_label, swedish_and_english_clients
):
    english, swedish = swedish_and_english_clients
    data = [*held_values(), "läsare", "svensk"]

    left_in_english = {}
    module = app_pages_module(app_label)
    pages = admin_pages(app_label) + (module.PAGES if module else [])
    bilingual = getattr(module, "PRINTED_IN_BOTH_LANGUAGES", ())
    read = 0
    for page in pages:
        in_english, in_swedish = english.get(page), swedish.get(page)
        if in_swedish.status_code != 200 or "text/html" not in in_swedish["Content-Type"]:
            continue
        if any(re.fullmatch(pattern, page) for pattern in bilingual):
            continue
        assert in_swedish["Content-Language"] == "sv", page
        read += 1
        same = visible_texts(in_english.content.decode()) & visible_texts(
            in_swedish.content.decode()
        )
        untranslated = sorted(text for text in same if english_left(text, data))
        if untranslated:
            left_in_english[page] = untranslated

    assert read >= 1
    report = "\n".join(
        f"{page}\n" + "\n".join(f"    {text!r}" for text in texts)
        for page, texts in left_in_english.items()
    )
    assert not left_in_english, f"English left on {len(left_in_english)} page(s):\n{report}"
