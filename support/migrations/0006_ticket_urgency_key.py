from django.db import migrations, models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Least

OPEN_BREACHED, OPEN, DONE_BREACHED, DONE = 0, 1, 2, 3


def urgency_fill(apps, schema_editor):
    """Give every existing ticket its urgency key (the rule of support.sla.urgency_refresh)."""
    Ticket = apps.get_model("support", "Ticket")
    breached = Q(response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False)
    done = Q(status__in=["resolved", "closed"])
    Ticket.objects.update(
        urgency_rank=Case(
            When(done & breached, then=Value(DONE_BREACHED)),
            When(done, then=Value(DONE)),
            When(breached, then=Value(OPEN_BREACHED)),
            default=Value(OPEN),
        ),
        urgency_due_at=Case(
            When(
                first_response_at__isnull=True,
                then=Least(F("response_due_at"), F("resolution_due_at")),
            ),
            default=F("resolution_due_at"),
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("support", "0005_incidents")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="urgency_rank",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (0, "Open, breached"),
                    (1, "Open"),
                    (2, "Done, breached"),
                    (3, "Done"),
                ],
                default=1,
                editable=False,
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="urgency_due_at",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(urgency_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ticket",
            name="urgency_due_at",
            field=models.DateTimeField(editable=False),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["urgency_rank", "urgency_due_at", "id"], name="support_ticket_triage"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["assignee", "urgency_rank", "urgency_due_at", "id"],
                name="support_ticket_triage_mine",
            ),
        ),
    ]
