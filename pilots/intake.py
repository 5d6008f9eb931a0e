"""Feedback intake: a submission from the form (once per key, within the rate limits and the
trial limit), scans counted, feedback statuses, and the switch that closes every form at once.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.contacts import email_normalise, phone_normalise
from core.flags import flag_is_on
from core.metrics import FEEDBACK_SUBMISSIONS, SCANS
from core.ratelimit import Rate, rate_limit_hit
from core.services import Actor, event_record
from pilots.claims import reward_message_queue
from pilots.features import (
    PHONE_NOT_TAKEN,
    QUALITY_RUBRIC_V2,
    SMS_REWARD_LINKS,
    business_tenant,
)
from pilots.models import (
    Enrollment,
    Feedback,
    IntakeSwitch,
    QRCode,
    ScanCount,
)
from pilots.payments import payment_create_for_feedback
from pilots.scoring import RUBRIC_1, RUBRIC_2, assess_quality, near_identical
from pilots.selectors import (
    Intake,
    IntakeState,
    intake_facts_invalidate,
    intake_state,
    local_day_bounds,
)
from pilots.services import daily_metrics_recount


# ------------------------------------------------------------------------------
# Feedback
# ------------------------------------------------------------------------------
class FeedbackRefused(ValidationError):
    """A submission that is not taken; ``reason`` says why, for the page to explain."""

    def __init__(self, message: str, *, reason: str, retry_after_seconds: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


RATE_LIMITED = "rate_limited"
DUPLICATE = "duplicate"
SYNTHETIC = "synthetic"
REPEATED_SUBMISSION = "repeated_submission"


class _SubmissionKeyTaken(Exception):
    """Another request stored this submission key first (a double tap racing itself)."""


def _rate_limits_check(
    *, qr_code: QRCode, client_hash: str, device_hash: str, synthetic: bool
) -> None:
    limits = [("feedback-code", str(qr_code.pk), settings.FEEDBACK_RATE_PER_CODE)]
    if not synthetic:  # the probe comes from one client every few minutes, by design
        limits.append(("feedback-device", device_hash, settings.FEEDBACK_RATE_PER_DEVICE))
        limits.append(("feedback-network", client_hash, settings.FEEDBACK_RATE_PER_NETWORK))
    for scope, key, rate in limits:
        verdict = rate_limit_hit(scope=scope, key=key, rate=Rate.parse(rate))
        if not verdict.allowed:
            raise FeedbackRefused(
                "Too many submissions; try again later.",
                reason=RATE_LIMITED,
                retry_after_seconds=verdict.retry_after_seconds,
            )


def _feedback_by_submission_key(*, qr_code: QRCode, submission_key: str) -> Feedback | None:
    if not submission_key:
        return None
    return Feedback.objects.filter(submission_key=submission_key, qr_code=qr_code).first()


def feedback_submit(*, qr_code: QRCode, submission_key: str = "", **submission) -> Feedback:
    """Take one feedback (see `_feedback_take`), counted on /metrics by outcome.

    ``submission_key`` is the one-time key of the form it came from: a repeat
    of the same key (a double tap, a resent form after a lost answer) returns
    the feedback the first one stored, with its reward, and stores nothing,
    even when both arrive at the same instant (the database keeps one).
    """
    business = qr_code.business.slug
    earlier = _feedback_by_submission_key(qr_code=qr_code, submission_key=submission_key)
    if earlier is not None:
        FEEDBACK_SUBMISSIONS.labels(business=business, outcome=REPEATED_SUBMISSION).inc()
        return earlier
    if submission_key and Feedback.objects.filter(submission_key=submission_key).exists():
        submission_key = ""  # a key of another code's form is no key at all
    try:
        feedback = _feedback_take(qr_code=qr_code, submission_key=submission_key, **submission)
    except FeedbackRefused as refused:
        # A twin of this request, racing it, may have stored it meanwhile (and so
        # made this one look like a duplicate or used up its limit).
        earlier = _feedback_by_submission_key(qr_code=qr_code, submission_key=submission_key)
        if earlier is not None:
            FEEDBACK_SUBMISSIONS.labels(business=business, outcome=REPEATED_SUBMISSION).inc()
            return earlier
        FEEDBACK_SUBMISSIONS.labels(business=business, outcome=f"refused_{refused.reason}").inc()
        raise
    except _SubmissionKeyTaken:
        FEEDBACK_SUBMISSIONS.labels(business=business, outcome=REPEATED_SUBMISSION).inc()
        return Feedback.objects.get(submission_key=submission_key)
    outcome = SYNTHETIC if feedback.is_synthetic else feedback.status
    FEEDBACK_SUBMISSIONS.labels(business=business, outcome=outcome).inc()
    return feedback


def _duplicate_check(
    *, qr_code: QRCode, device_hash: str, rating: int, comment: str, now: datetime
) -> None:
    """Refuse what the same device said at this code a moment ago (near-identical, see scoring)."""
    since = now - timedelta(minutes=settings.FEEDBACK_DUPLICATE_MINUTES)
    recent = Feedback.objects.filter(
        qr_code=qr_code, device_hash=device_hash, submitted_at__gte=since
    ).values_list("rating", "comment")[:20]
    if any(
        near_identical(rating=rating, comment=comment, other_rating=r, other_comment=c)
        for r, c in recent
    ):
        raise FeedbackRefused(
            "The same feedback came from this device a moment ago.", reason=DUPLICATE
        )


@transaction.atomic
def _feedback_take(
    *,
    qr_code: QRCode,
    client_hash: str,
    rating: int,
    categories: list[str],
    comment: str,
    language: str,
    contact_email: str = "",
    contact_phone: str = "",
    consent: bool = False,
    device_hash: str = "",
    submission_key: str = "",
) -> Feedback:
    """Take one feedback from the form behind ``qr_code``.

    ``client_hash`` is the network (the hashed address), ``device_hash`` the
    browser on it (core/client.py; the network itself when not given). Refuses
    (FeedbackRefused) when the code does not take feedback now, the device,
    network or code is over its rate limit, the same device sent
    near-identical feedback through this code within
    FEEDBACK_DUPLICATE_MINUTES, or the trial limit is reached. Two people at
    one table on the café's Wi-Fi are two devices: both are taken.

    The trial limit is counted by one conditional update, the
    last statement before commit (``feedback_count < trial_limit``): it holds
    however many submissions arrive at once, and the enrollment row is locked
    only for the moment between that update and the commit, so submissions to
    one café do not queue behind each other's scoring and validation.

    Submissions through the synthetic probe's code (pilots/probe.py) are
    marked synthetic here, the one place that decides it: they are not
    refused as duplicates, and they count for no enrollment, trial limit or
    reward.
    """
    if submission_key and Feedback.objects.filter(submission_key=submission_key).exists():
        raise _SubmissionKeyTaken  # stored by a twin since feedback_submit looked
    synthetic = qr_code.business.is_probe
    device_hash = device_hash or client_hash
    _rate_limits_check(
        qr_code=qr_code, client_hash=client_hash, device_hash=device_hash, synthetic=synthetic
    )
    state = intake_state(qr_code)
    if not state.is_open:
        raise FeedbackRefused(
            "This code does not take feedback now.",
            reason=state.intake,
            retry_after_seconds=state.retry_after_seconds,
        )
    enrollment = None if synthetic else state.enrollment
    if enrollment is not None and enrollment.is_full:
        raise FeedbackRefused("The pilot is full.", reason=Intake.FULL)
    now = timezone.now()
    if not synthetic:
        _duplicate_check(
            qr_code=qr_code,
            device_hash=device_hash,
            rating=rating,
            comment=comment,
            now=now,
        )
    if (contact_email or contact_phone) and not consent:
        raise ValidationError("Contact details are kept only with consent.")
    tenant = business_tenant(qr_code.business)
    if contact_phone and not contact_email and not flag_is_on(SMS_REWARD_LINKS, tenant=tenant):
        raise ValidationError(PHONE_NOT_TAKEN, code="phone_not_taken")
    # Normalised here too, whoever calls: one contact, one spelling, one recipient.
    contact_email = email_normalise(contact_email) if contact_email else ""
    contact_phone = phone_normalise(contact_phone) if contact_phone else ""

    comment = comment.strip()
    repeated = (
        bool(comment)
        and Feedback.objects.filter(
            client_hash=client_hash, business=qr_code.business, comment=comment
        ).exists()
    )
    assessment = assess_quality(
        rating=rating,
        categories=categories,
        comment=comment,
        repeated=repeated,
        rubric=RUBRIC_2 if flag_is_on(QUALITY_RUBRIC_V2, tenant=tenant) else RUBRIC_1,
    )
    pilot = enrollment.pilot if enrollment else None
    status = Feedback.Status.SPAM if assessment.is_spam else Feedback.Status.ACCEPTED
    feedback = Feedback(
        business=qr_code.business,
        pilot=pilot,
        enrollment=enrollment,
        qr_code=qr_code,
        rating=rating,
        categories=categories,
        comment=comment,
        language=language,
        quality_score=assessment.score,
        quality_rubric=assessment.rubric,
        contact_email=contact_email,
        contact_phone=contact_phone,
        consent_at=now if consent and (contact_email or contact_phone) else None,
        status=status,
        client_hash=client_hash,
        device_hash=device_hash,
        submission_key=submission_key,
        submitted_at=now,
        is_synthetic=synthetic,
    )
    feedback.reward_eligible = not synthetic and feedback.qualifies_for_reward()
    feedback.full_clean(validate_constraints=False)
    feedback.validate_constraints(exclude={"submission_key"})
    try:
        with transaction.atomic():
            feedback.save()
    except IntegrityError:
        if submission_key and Feedback.objects.filter(submission_key=submission_key).exists():
            raise _SubmissionKeyTaken from None
        raise
    if feedback.reward_eligible:
        payment = payment_create_for_feedback(feedback=feedback)
        reward_message_queue(payment=payment)
    if enrollment is not None and status != Feedback.Status.SPAM:
        _trial_limit_count(enrollment)
    return feedback


def _trial_limit_count(enrollment: Enrollment) -> None:
    """Count one feedback against the trial limit, or refuse (rolling the feedback back)."""
    counted = Enrollment.objects.filter(
        pk=enrollment.pk, feedback_count__lt=F("trial_limit")
    ).update(feedback_count=F("feedback_count") + 1)
    if not counted:
        raise FeedbackRefused("The pilot is full.", reason=Intake.FULL)
    if Enrollment.objects.filter(pk=enrollment.pk, feedback_count__gte=F("trial_limit")).exists():
        transaction.on_commit(intake_facts_invalidate)  # the form now says it is full


def scan_record(*, state: IntakeState, client_hash: str, day: date | None = None) -> bool:
    """Count a landing on an open form: once per client, code and day. True when counted.

    The shared cache remembers who was counted today. With a shared cache the
    count is a cache counter that ``scans_flush`` writes to the daily scan
    rows each minute, so a page view writes nothing to the database; with
    the embedded per-process cache it is written at once.
    """
    qr_code = state.qr_code
    if qr_code.business.is_probe:
        return False  # the synthetic probe's landings are no customers' scans
    day = day or timezone.localdate()
    if not cache.add(f"scan:{qr_code.pk}:{day.isoformat()}:{client_hash}", 1, timeout=86400):
        return False
    pilot_id = state.pilot.pk if state.pilot else None
    if settings.SCAN_COUNTS_IN_CACHE:
        key = _scan_counter_key(qr_code.pk, pilot_id, day)
        try:
            cache.incr(key)
        except ValueError:  # the day's first scan of this code
            if not cache.add(key, 1, timeout=SCAN_COUNTER_SECONDS):
                cache.incr(key)
    else:
        _scans_add(qr_code.pk, qr_code.business_id, pilot_id, day, 1)
    SCANS.labels(business=qr_code.business.slug).inc()
    return True


SCAN_COUNTER_SECONDS = 3 * 86400


def _scan_counter_key(qr_code_id: int, pilot_id: int | None, day: date) -> str:
    return f"scans:{day.isoformat()}:{qr_code_id}:{pilot_id or 0}"


def _scans_add(qr_code_id: int, business_id: int, pilot_id: int | None, day: date, count: int):
    """Add ``count`` to a code's scan row of ``day``, making the row if it is the first."""
    rows = ScanCount.objects.filter(qr_code_id=qr_code_id, day=day)
    if rows.update(scans=F("scans") + count):
        return
    try:
        with transaction.atomic():
            ScanCount.objects.create(
                qr_code_id=qr_code_id,
                business_id=business_id,
                pilot_id=pilot_id,
                day=day,
                scans=max(count, 0),
            )
    except IntegrityError:  # another process made the row first
        rows.update(scans=F("scans") + count)


def scans_flush(*, now: datetime) -> int:
    """Move the cached scan counters of today and yesterday into the daily scan rows.

    Each counter is decremented by what was read before that much is added
    to its row, so scans counted meanwhile stay for the next flush, and
    counter + row is the true count at every step: two flushes at once or a
    rerun count nothing twice for long (a second flush that read the same
    value leaves the counter negative, and the next flush takes it back).
    Snapshotted days that get late scans are recounted. Returns the scans moved.
    """
    today = timezone.localdate(now)
    days = [today - timedelta(days=1), today]
    since, _ = local_day_bounds(days[0], days[0])
    codes = list(
        QRCode.objects.filter(Q(status=QRCode.Status.ACTIVE) | Q(revoked_at__gte=since))
        .values_list("pk", "business_id")
        .order_by()
    )
    pilots: dict[int, set[int | None]] = {}
    for business_id, pilot_id in Enrollment.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=since),
        business__in={business_id for _, business_id in codes},
    ).values_list("business_id", "pilot_id"):
        pilots.setdefault(business_id, set()).add(pilot_id)
    counters = {
        _scan_counter_key(code, pilot, day): (code, business, pilot, day)
        for code, business in codes
        for pilot in pilots.get(business, set()) | {None}
        for day in days
    }
    moved, late = 0, set()
    for key, count in cache.get_many(list(counters)).items():
        if not count:
            continue
        code, business, pilot, day = counters[key]
        cache.decr(key, count)
        _scans_add(code, business, pilot, day, count)
        moved += count
        if day < today and pilot is not None:
            late.add((business, pilot, day))
    for business, pilot, day in late:
        enrollments = Enrollment.objects.filter(business=business, pilot=pilot).values_list(
            "pk", flat=True
        )
        daily_metrics_recount(day=day, enrollment_ids=list(enrollments))
    return moved


@transaction.atomic
def feedback_status_set(*, feedback: Feedback, status: str, actor: Actor = None) -> Feedback:
    """Accept, flag or mark as spam. Only accepted feedback can earn a reward."""
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if feedback.status == status:
        return feedback
    previous = feedback.status
    feedback.status = status
    feedback.reward_eligible = feedback.qualifies_for_reward()
    feedback.full_clean()
    feedback.save(update_fields=["status", "reward_eligible", "updated_at"])
    if feedback.enrollment_id is not None and Feedback.Status.SPAM in (previous, status):
        change = 1 if previous == Feedback.Status.SPAM else -1
        Enrollment.objects.filter(pk=feedback.enrollment_id).update(
            feedback_count=F("feedback_count") + change
        )
        transaction.on_commit(intake_facts_invalidate)
    if feedback.enrollment_id is not None:
        daily_metrics_recount(
            day=timezone.localdate(feedback.submitted_at), enrollment_ids=[feedback.enrollment_id]
        )
    event_record(
        subject=feedback,
        action="feedback_status",
        message=f"Marked {Feedback.Status(status).label.lower()} (was {previous}).",
        actor=actor,
        data={"from": previous, "to": status},
    )
    return feedback


@transaction.atomic
def intake_switch_set(
    *, is_open: bool, message: str = "", retry_after_minutes: int = 30, actor: Actor = None
) -> IntakeSwitch:
    """Open or close feedback intake everywhere (maintenance mode)."""
    switch, _ = IntakeSwitch.objects.select_for_update().get_or_create(pk=IntakeSwitch.SINGLETON_ID)
    switch.is_open = is_open
    switch.message = message
    switch.retry_after_minutes = retry_after_minutes
    switch.full_clean()
    switch.save()
    transaction.on_commit(intake_facts_invalidate)
    event_record(
        subject=switch,
        action="intake_open" if is_open else "intake_closed",
        message="Feedback intake opened." if is_open else "Feedback intake closed.",
        actor=actor,
        data={"message": message, "retry_after_minutes": retry_after_minutes},
    )
    return switch
