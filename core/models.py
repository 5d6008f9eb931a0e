from django.db import models


class TimeStampedModel(models.Model):
    """The base of every Pilot Ops model: when a row was made and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Heartbeat(models.Model):
    """The last time a periodic signal arrived, one row per source.

    Celery beat sends ``core.tasks.beat_heartbeat`` every minute; a worker
    records it here. Readiness reads the row to tell a stale scheduler (or a
    worker that no longer runs its tasks) from a healthy one.
    """

    class Source(models.TextChoices):
        BEAT = "beat", "Celery beat"

    source = models.CharField(max_length=32, choices=Source.choices, primary_key=True)
    last_seen_at = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0, help_text="Heartbeats received so far.")

    class Meta:
        verbose_name = "heartbeat"

    def __str__(self) -> str:
        return f"{self.get_source_display()} at {self.last_seen_at:%Y-%m-%d %H:%M:%S %Z}"
