"""What the benchmarks seed: one pilot of many cafés, and rows inserted in bulk.

Import after ``django.setup()``.
"""

import json
from datetime import UTC, timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.tokens import printed_link_token
from pilots import services
from pilots.models import Business, Enrollment, Pilot, QRCode

# The feedback columns the benchmarks fill, in the order their rows give them.
FEEDBACK_COLUMNS = [
    "created_at",
    "updated_at",
    "business_id",
    "pilot_id",
    "enrollment_id",
    "qr_code_id",
    "rating",
    "categories",
    "comment",
    "language",
    "quality_score",
    "quality_rubric",
    "contact_email",
    "contact_phone",
    "reward_eligible",
    "status",
    "client_hash",
    "submitted_at",
    "is_synthetic",
    "device_hash",
    "submission_key",
]


def pilot_with_cafes(cafes: int, *, name: str, slug: str):
    """An active pilot with ``cafes`` enrolled cafés, one printed code each.

    Returns the pilot and its sites as (enrollment id, business id, code id).
    """
    today = timezone.localdate()
    pilot = Pilot.objects.create(
        name=name,
        slug=slug,
        starts_on=today - timedelta(days=40),
        ends_on=today + timedelta(days=30),
    )
    services.pilot_activate(pilot=pilot)
    Business.objects.bulk_create(
        Business(
            name=f"Café {n:03d}",
            slug=f"cafe-{n:03d}",
            city="Stockholm",
            status=Business.Status.ACTIVE,
            expected_daily_customers=700,
        )
        for n in range(cafes)
    )
    businesses = list(Business.objects.order_by("pk"))
    Enrollment.objects.bulk_create(
        Enrollment(pilot=pilot, business=b, trial_limit=10_000_000) for b in businesses
    )
    QRCode.objects.bulk_create(
        QRCode(business=b, placement="Table 1", token=printed_link_token()) for b in businesses
    )
    sites = list(
        Enrollment.objects.values_list("pk", "business_id", "business__qr_codes__pk").order_by("pk")
    )
    return pilot, sites


def insert_rows(model, columns: list[str], rows) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) in bulk: COPY or executemany."""
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_json(value) for value in row])
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        batch = []
        for row in rows:
            batch.append([_sqlite(value) for value in row])
            if len(batch) == 50_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _json(value):
    """A JSON field's list or dict, as the text the column stores."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def _sqlite(value):
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return _json(value)
