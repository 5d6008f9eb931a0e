from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """The base of every Pilot Ops model: when a row was made and last changed."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class Heartbeat(models.Model):
    """The last time a periodic signal arrived, one row per source.

    Celery beat sends ``core.tasks.beat_heartbeat`` every minute; a worker
    records it here. Readiness reads the row to tell a stale scheduler (or a
    worker that no longer runs its tasks) from a healthy one.
    """

    class Source(models.TextChoices):
        BEAT = "beat", _("Celery beat")

    source = models.CharField(_("source"), max_length=32, choices=Source.choices, primary_key=True)
    last_seen_at = models.DateTimeField(_("last seen at"))
    beats = models.PositiveBigIntegerField(
        _("beats"), default=0, help_text=_("Heartbeats received so far.")
    )

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return gettext("%(source)s at %(at)s") % {
            "source": self.get_source_display(),
            "at": f"{self.last_seen_at:%Y-%m-%d %H:%M:%S %Z}",
        }


class Event(models.Model):
    """One entry in an object's history, written by the service that made the change.

    The admin shows an object's events on its change page. Messages name what
    happened in the business's words and never carry tokens or contact data.
    """

    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    action = models.CharField(_("action"), max_length=50)
    message = models.CharField(_("message"), max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
        help_text=_("Who made the change; empty when the system did."),
    )
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "-created_at"])]
        verbose_name = _("history event")
        verbose_name_plural = _("history events")

    def __str__(self) -> str:
        return f"{self.action}: {self.message}"


class MaintenanceRun(models.Model):
    """One run of a periodic job: when, how it ended, what it did.

    Each period of a job has a ``run_key`` (the minute, the hour, the local
    date, the ISO week): at most one live run (running, or ok) per key,
    however often beat or an operator asks. A running run holds the lease
    named in ``lease`` and renews it while it works; a run whose worker died
    is marked *abandoned* by the run that takes its lease over and finishes
    the period's work.
    """

    class Outcome(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        OK = "ok", _("OK")
        ERROR = "error", _("Error")
        ABANDONED = "abandoned", _("Abandoned")

    job = models.CharField(_("job"), max_length=50, db_index=True)
    run_key = models.CharField(_("run key"), max_length=40, blank=True)
    lease = models.CharField(
        _("lease"),
        max_length=150,
        blank=True,
        help_text=_("The lease this run holds while it runs."),
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.RUNNING
    )
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
        help_text=_("Who asked for this run from the admin; empty for scheduled runs."),
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "run_key"],
                condition=~Q(run_key="") & Q(outcome__in=["running", "ok"]),
                name="core_maintenancerun_one_live_run_per_key",
            )
        ]
        verbose_name = _("maintenance run")
        verbose_name_plural = _("maintenance runs")

    def __str__(self) -> str:
        started = self.run_key or self.started_at.isoformat()
        return f"{self.job} {started} {self.get_outcome_display().lower()}"


class MaintenanceStep(models.Model):
    """One piece of periodic work done once, whichever run did it: a report sent for its period.

    Written in the same transaction as the work it stands for, so a run that
    takes over after a crash, or a twin running at the same moment, finds it
    and skips that piece.
    """

    key = models.CharField(_("key"), max_length=200, unique=True)
    run = models.ForeignKey(
        MaintenanceRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
        verbose_name=_("run"),
    )
    done_at = models.DateTimeField(_("done at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-done_at"]
        verbose_name = _("maintenance step")
        verbose_name_plural = _("maintenance steps")

    def __str__(self) -> str:
        return gettext("%(key)s done at %(at)s") % {
            "key": self.key,
            "at": date_format(timezone.localtime(self.done_at), "DATETIME_FORMAT"),
        }


class Lease(models.Model):
    """A named claim that one process holds for a while and renews while it works.

    A lease, not a lock held by a connection: a process killed mid-work simply
    stops renewing, and the next one takes the lease over once it has expired.
    Used where only one process at a time may do a piece of work across the
    whole installation (the payout run, a periodic job's period).
    """

    name = models.CharField(max_length=150, primary_key=True)
    holder = models.CharField(max_length=150)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("lease")
        verbose_name_plural = _("leases")

    def __str__(self) -> str:
        return gettext("%(name)s held by %(holder)s until %(until)s") % {
            "name": self.name,
            "holder": self.holder,
            "until": self.expires_at.isoformat(),
        }


class Message(TimeStampedModel):
    """One e-mail, SMS or Slack post in the outbox: written in the transaction that caused it.

    A delivery task sends it with timeouts and retries. Like a payout, an
    attempt has three outcomes: sent, refused (a definitive answer: *failed*)
    or not known (the answer was lost: *unknown*, settled by asking the SMS
    gateway, for e-mail by sending again under the same Message-ID, and for
    Slack, which cannot be asked, by posting again).
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        SLACK = "slack", _("Slack")

    # The text can hold a claim link: as private as the address it goes to.
    CONTACT_FIELDS = ("recipient", "body")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to send")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        UNKNOWN = "unknown", _("Answer lost: being settled")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(
        _("purpose"),
        max_length=50,
        help_text=_("What the message is for, e.g. reward_claim, sla_alert."),
    )
    recipient = models.CharField(
        _("recipient"),
        max_length=254,
        help_text=_(
            "E-mail address, E.164 number, or the Slack member mentioned ('channel': none)."
        ),
    )
    recipient_hash = models.CharField(
        _("recipient hash"),
        max_length=64,
        db_index=True,
        help_text=_("Keyed hash of the recipient: kept after purging."),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=255,
        blank=True,
        help_text=_("The e-mail's Message-ID (kept for every resend), or the SMS gateway's id."),
    )
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="core_message_sent_has_sent_at",
            )
        ]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.pk} ({self.get_status_display().lower()})"


class MessageAttachment(models.Model):
    """A file sent with an e-mail (a report PDF)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    mimetype = models.CharField(max_length=100)
    content = models.BinaryField()

    def __str__(self) -> str:
        return self.filename


class FeatureRequestCount(models.Model):
    """Requests that checked a feature flag in one minute, by variant, and how many failed.

    Each process adds its counts every few seconds (``core.flags``); the
    rollout guards read the error rate of the requests the feature was on for.
    """

    flag = models.CharField(max_length=50)
    variant = models.CharField(max_length=3, help_text="on or off: what the request was given.")
    minute = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="Requests answered with a 5xx.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flag", "minute", "variant"], name="core_featurerequestcount_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.flag} ({self.variant}) at {self.minute.isoformat()}"


class SecurityEvent(models.Model):
    """Something a security review looks at: sign-in failures, lockouts, who may do what.

    Written by `core.security` (the login lockout handler, the second-factor
    pages, the staff and group admin); never edited. Carries the model's one
    custom permission, *view contact data*, which no group is given.
    """

    class Kind(models.TextChoices):
        LOGIN_FAILED = "login_failed", _("Failed sign-in")
        LOCKED_OUT = "locked_out", _("Locked out")
        UNLOCKED = "unlocked", _("Unlocked")
        SECOND_FACTOR_ADDED = "second_factor_added", _("Second factor added")
        SECOND_FACTOR_REMOVED = "second_factor_removed", _("Second factor removed")
        BACKUP_CODES_ISSUED = "backup_codes_issued", _("Backup codes issued")
        STAFF_ADDED = "staff_added", _("New staff account")
        GROUPS_CHANGED = "groups_changed", _("Groups changed")
        PERMISSIONS_CHANGED = "permissions_changed", _("Permissions changed")
        BACKUP_DOWNLOADED = "backup_downloaded", _("Backup downloaded")

    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices, db_index=True)
    username = models.CharField(
        _("username"),
        max_length=150,
        blank=True,
        help_text=_("The account it concerns, as typed at sign-in."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
        verbose_name=_("user"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events_made",
        verbose_name=_("actor"),
    )
    client_hash = models.CharField(
        _("client hash"), max_length=64, blank=True, help_text=_("Salted hash of the address.")
    )
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "-created_at"])]
        permissions = [("view_contact_data", "Can view contact data (e-mail, phone)")]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.username or '-'}"


class WorkerHeartbeat(models.Model):
    """A Celery worker's sign of life, one row per worker.

    Each worker writes its row when it starts and every
    ``WORKER_HEARTBEAT_SECONDS`` after (``core.workers``), and removes it when
    it stops cleanly; a worker killed outright simply stops writing, and its
    row goes stale after ``WORKER_HEARTBEAT_MAX_AGE_SECONDS``.
    """

    hostname = models.CharField(_("hostname"), max_length=200, primary_key=True)
    started_at = models.DateTimeField(_("started at"))
    last_seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        ordering = ["hostname"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return gettext("%(source)s at %(at)s") % {
            "source": self.hostname,
            "at": f"{self.last_seen_at:%Y-%m-%d %H:%M:%S %Z}",
        }


class DeadLetter(TimeStampedModel):
    """A Celery task that failed for good, after its retries, kept for a person to decide.

    Arguments are stored with contact data masked; a dead letter whose
    arguments had to be masked cannot be requeued as it is.
    """

    class Status(models.TextChoices):
        DEAD = "dead", _("Waiting for a decision")
        REQUEUED = "requeued", _("Requeued")
        DISCARDED = "discarded", _("Discarded")

    task_name = models.CharField(_("task name"), max_length=200, db_index=True)
    task_id = models.CharField(_("task id"), max_length=64, unique=True)
    arguments = models.JSONField(_("arguments"), default=dict, blank=True)
    arguments_masked = models.BooleanField(
        _("arguments masked"),
        default=False,
        help_text=_("Contact data was masked out of the arguments."),
    )
    retries = models.PositiveIntegerField(_("retries"), default=0)
    error = models.TextField(_("error"))
    failed_at = models.DateTimeField(_("failed at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DEAD
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("handled by"),
    )

    class Meta:
        ordering = ["-failed_at", "-id"]
        indexes = [models.Index(fields=["status", "-failed_at"])]
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")

    def __str__(self) -> str:
        return gettext("%(task)s failed at %(at)s") % {
            "task": self.task_name,
            "at": f"{self.failed_at:%Y-%m-%d %H:%M:%S %Z}",
        }


class StaffProfile(models.Model):
    """A staff member's own settings for the back office: the language it speaks to them."""

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SWEDISH = "sv", "Svenska"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="staff_profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return gettext("Profile of %(user)s") % {"user": self.user}
