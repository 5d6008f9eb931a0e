"""Full-text search on PostgreSQL: the searched document, the query, and the index.

The changelists search through ``core.admin.FullTextSearchMixin``; the GIN
index a migration builds with ``search_index_operations`` is made from the
same ``search_vector`` expression, which is what lets PostgreSQL use it.
"""

import re

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import migrations

SEARCH_CONFIGS = ("swedish", "english")
SQLITE_SEARCH_ROWS = 100_000
_WORD = re.compile(r"\w+")


def search_vector(*fields: str):
    """The document a changelist searches: ``fields`` under the Swedish and English
    configurations. Its GIN index (made by a migration, PostgreSQL only) must be
    built from this same expression."""
    vectors = [SearchVector(*fields, config=config) for config in SEARCH_CONFIGS]
    combined = vectors[0]
    for vector in vectors[1:]:
        combined = combined + vector
    return combined


def search_query(text: str):
    """Every word of ``text``, or a word it begins, in either language; None without words."""
    words = _WORD.findall(text)[:10]
    if not words:
        return None
    raw = " & ".join(f"{word}:*" for word in words)
    queries = [SearchQuery(raw, config=config, search_type="raw") for config in SEARCH_CONFIGS]
    combined = queries[0]
    for query in queries[1:]:
        combined = combined | query
    return combined


def search_index_operations(model_name: str, index_name: str, *fields: str) -> list:
    """Migration operations that build the GIN index ``FullTextSearchMixin`` reads, on
    PostgreSQL only (SQLite has no such index; its search is bounded instead)."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            model = apps.get_model(model_name)
            schema_editor.add_index(model, GinIndex(search_vector(*fields), name=index_name))

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            model = apps.get_model(model_name)
            schema_editor.remove_index(model, GinIndex(search_vector(*fields), name=index_name))

    return [migrations.RunPython(create, drop)]
