"""Read the database's own query plan: does a query walk an index, or sort/scan the table?

Tests use this to show that a page's queries are served by an index, so their
cost follows the page, not the table. PostgreSQL is asked with sorting and
sequential scans priced out (``enable_sort``/``enable_seqscan`` off), so a
plan without them proves that an index *can* serve the query even on the
few rows a test makes; SQLite's planner says so in its EXPLAIN QUERY PLAN.
"""

from django.db import connection, transaction


def query_plan(sql: str, params=(), *, allow_sort: bool = False) -> str:
    """The plan of ``sql`` as text, on either database.

    ``allow_sort`` keeps sorting priced as usual: a search reads matches
    through its index and sorts the few it finds.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if not allow_sort:
                cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def queryset_plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    return query_plan(sql, params)


def sorts_rows(plan: str) -> bool:
    """True when the plan sorts rows instead of reading them in index order."""
    if connection.vendor == "postgresql":
        return any(
            line.strip().lstrip("-> ").startswith(("Sort", "Incremental Sort"))
            for line in plan.splitlines()
        )
    return "USE TEMP B-TREE FOR ORDER BY" in plan


def scans_table(plan: str, table: str) -> bool:
    """True when the plan reads every row of ``table`` (no index narrows it)."""
    if connection.vendor == "postgresql":
        return f"Seq Scan on {table}" in plan
    return any(
        line.strip().startswith(f"SCAN {table}") and "INDEX" not in line
        for line in plan.splitlines()
    )
