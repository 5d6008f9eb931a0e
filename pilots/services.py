"""Every state change of businesses, pilots, enrollments and QR codes.

Each service checks what it is allowed to do, changes the rows under a lock,
and writes a history event in the same transaction.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy

from core.contacts import email_normalise, phone_normalise
from core.flags import flag_is_on
from core.metrics import FEEDBACK_SUBMISSIONS, SCANS
from core.ratelimit import Rate, rate_limit_hit
from core.services import event_record
from core.tokens import printed_link_token
from pilots.claims import reward_message_queue
from pilots.features import (
    PHONE_NOT_TAKEN,
    QUALITY_RUBRIC_V2,
    SMS_REWARD_LINKS,
    business_tenant,
)
from pilots.models import (
    Business,
    DailyMetric,
    Enrollment,
    Feedback,
    IntakeSwitch,
    Pilot,
    QRCode,
    ScanCount,
)
from pilots.payments import payment_create_for_feedback
from pilots.scoring import RUBRIC_1, RUBRIC_2, assess_quality, near_identical
from pilots.selectors import (
    DayFigures,
    Intake,
    IntakeState,
    figures_counted,
    intake_facts_invalidate,
    intake_state,
    local_day_bounds,
)

Actor = AbstractBaseUser | None


class PilotTransitionError(ValidationError):
    """A pilot status change that its current status does not allow."""


class EnrollmentError(ValidationError):
    """An enrollment that cannot be made or ended."""


class QRCodeError(ValidationError):
    """A QR code change that cannot be made."""


# ------------------------------------------------------------------------------
# Pilots
# ------------------------------------------------------------------------------
# action: (statuses it may start from, status it ends in)
PILOT_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "activate": (frozenset({Pilot.Status.DRAFT}), Pilot.Status.ACTIVE),
    "pause": (frozenset({Pilot.Status.ACTIVE}), Pilot.Status.PAUSED),
    "resume": (frozenset({Pilot.Status.PAUSED}), Pilot.Status.ACTIVE),
    "complete": (frozenset({Pilot.Status.ACTIVE, Pilot.Status.PAUSED}), Pilot.Status.COMPLETED),
    "cancel": (
        frozenset({Pilot.Status.DRAFT, Pilot.Status.ACTIVE, Pilot.Status.PAUSED}),
        Pilot.Status.CANCELLED,
    ),
}
PAST_TENSE = {
    "activate": "activated",
    "pause": "paused",
    "resume": "resumed",
    "complete": "completed",
    "cancel": "cancelled",
}
# What the pilot's page calls each action, what it says once done and when refused.
PILOT_ACTION_LABELS = {
    "activate": gettext_lazy("Activate"),
    "pause": gettext_lazy("Pause"),
    "resume": gettext_lazy("Resume"),
    "complete": gettext_lazy("Complete"),
    "cancel": gettext_lazy("Cancel"),
}
PILOT_DONE_MESSAGES = {
    "activate": gettext_lazy("“%(pilot)s” activated."),
    "pause": gettext_lazy("“%(pilot)s” paused."),
    "resume": gettext_lazy("“%(pilot)s” resumed."),
    "complete": gettext_lazy("“%(pilot)s” completed."),
    "cancel": gettext_lazy("“%(pilot)s” cancelled."),
}
PILOT_REFUSALS = {
    "activate": gettext_lazy(
        "Cannot activate “%(pilot)s”: it is %(status)s, and only draft pilots can be activated."
    ),
    "pause": gettext_lazy(
        "Cannot pause “%(pilot)s”: it is %(status)s, and only active pilots can be paused."
    ),
    "resume": gettext_lazy(
        "Cannot resume “%(pilot)s”: it is %(status)s, and only paused pilots can be resumed."
    ),
    "complete": gettext_lazy(
        "Cannot complete “%(pilot)s”: it is %(status)s, and only active or paused pilots "
        "can be completed."
    ),
    "cancel": gettext_lazy(
        "Cannot cancel “%(pilot)s”: it is %(status)s, and only active or draft or paused "
        "pilots can be cancelled."
    ),
}
_ENDING = {Pilot.Status.COMPLETED, Pilot.Status.CANCELLED}


def _pilot_transition(*, pilot: Pilot, action: str, actor: Actor, note: str = "") -> Pilot:
    allowed_from, target = PILOT_TRANSITIONS[action]
    pilot = Pilot.objects.select_for_update().get(pk=pilot.pk)
    if pilot.status not in allowed_from:
        raise PilotTransitionError(
            PILOT_REFUSALS[action]
            % {"pilot": pilot.name, "status": pilot.get_status_display().lower()}
        )
    if action == "activate" and pilot.ends_on < timezone.localdate():
        raise PilotTransitionError(
            gettext("Cannot activate “%(pilot)s”: it ended on %(day)s.")
            % {"pilot": pilot.name, "day": f"{pilot.ends_on:%Y-%m-%d}"}
        )
    previous = pilot.status
    pilot.status = target
    pilot.status_changed_at = timezone.now()
    transaction.on_commit(intake_facts_invalidate)
    pilot.full_clean()
    pilot.save(update_fields=["status", "status_changed_at", "updated_at"])
    event_record(
        subject=pilot,
        action=f"pilot_{action}",
        message=f"Pilot {PAST_TENSE[action]}" + (f": {note}" if note else "."),
        actor=actor,
        data={"from": previous, "to": target},
    )
    if target in _ENDING:
        for enrollment in pilot.enrollments.select_for_update().filter(
            status=Enrollment.Status.ACTIVE
        ):
            _enrollment_end(
                enrollment=enrollment,
                status=Enrollment.Status.CLOSED,
                actor=actor,
                message=f"Closed: the pilot was {PAST_TENSE[action]}.",
            )
    return pilot


def _free_slug(model, name: str) -> str:
    base = slugify(name)[:90] or "unnamed"
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def pilot_create(
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    reward_amount: int,
    default_trial_limit: int,
    actor: Actor = None,
) -> Pilot:
    """A new pilot, in draft until it is activated."""
    pilot = Pilot(
        name=name.strip(),
        slug=_free_slug(Pilot, name),
        starts_on=starts_on,
        ends_on=ends_on,
        reward_amount=reward_amount,
        default_trial_limit=default_trial_limit,
    )
    if ends_on < starts_on:
        raise PilotTransitionError(gettext("A pilot ends on or after the day it starts."))
    pilot.full_clean()
    pilot.save()
    event_record(subject=pilot, action="pilot_create", message="Pilot created.", actor=actor)
    return pilot


@transaction.atomic
def business_create(
    *, name: str, city: str, expected_daily_customers: int, actor: Actor = None
) -> Business:
    """A new café, onboarding until its pilot runs."""
    business = Business(
        name=name.strip(),
        slug=_free_slug(Business, name),
        city=city.strip(),
        expected_daily_customers=expected_daily_customers,
    )
    business.full_clean()
    business.save()
    transaction.on_commit(intake_facts_invalidate)
    event_record(subject=business, action="business_create", message="Café added.", actor=actor)
    return business


@transaction.atomic
def business_status_set(*, business: Business, status: str, actor: Actor = None) -> Business:
    """Onboarding, active, paused or churned: a paused or churned café's form takes no feedback."""
    if status not in Business.Status.values:
        raise EnrollmentError(gettext("“%(status)s” is not a café status.") % {"status": status})
    business = Business.objects.select_for_update().get(pk=business.pk)
    if business.status == status:
        return business
    previous = business.status
    business.status = status
    business.save(update_fields=["status", "updated_at"])
    transaction.on_commit(intake_facts_invalidate)
    event_record(
        subject=business,
        action="business_status",
        message=f"{Business.Status(previous).label} → {business.get_status_display()}.",
        actor=actor,
        data={"from": previous, "to": status},
    )
    return business


@transaction.atomic
def pilot_activate(*, pilot: Pilot, actor: Actor = None) -> Pilot:
    return _pilot_transition(pilot=pilot, action="activate", actor=actor)


@transaction.atomic
def pilot_pause(*, pilot: Pilot, actor: Actor = None, note: str = "") -> Pilot:
    return _pilot_transition(pilot=pilot, action="pause", actor=actor, note=note)


@transaction.atomic
def pilot_resume(*, pilot: Pilot, actor: Actor = None) -> Pilot:
    return _pilot_transition(pilot=pilot, action="resume", actor=actor)


@transaction.atomic
def pilot_complete(*, pilot: Pilot, actor: Actor = None, note: str = "") -> Pilot:
    """Complete the pilot and close its active enrollments."""
    return _pilot_transition(pilot=pilot, action="complete", actor=actor, note=note)


@transaction.atomic
def pilot_complete_ended(*, pilot: Pilot, today: date) -> Pilot | None:
    """Complete ``pilot`` if it still runs past its end date; None when there is nothing to do.

    The daily lifecycle calls this: a pilot completed a moment ago (by a
    twin run or a manager) is left as it is, quietly.
    """
    pilot = Pilot.objects.select_for_update().get(pk=pilot.pk)
    if pilot.status not in PILOT_TRANSITIONS["complete"][0] or pilot.ends_on >= today:
        return None
    return _pilot_transition(
        pilot=pilot, action="complete", actor=None, note="its end date has passed"
    )


@transaction.atomic
def pilot_cancel(*, pilot: Pilot, actor: Actor = None, note: str = "") -> Pilot:
    """Cancel the pilot and close its active enrollments."""
    return _pilot_transition(pilot=pilot, action="cancel", actor=actor, note=note)


# ------------------------------------------------------------------------------
# Enrollments
# ------------------------------------------------------------------------------
@transaction.atomic
def enrollment_create(
    *, pilot: Pilot, business: Business, trial_limit: int | None = None, actor: Actor = None
) -> Enrollment:
    """Enrol ``business`` in ``pilot`` with its own trial limit (the pilot's by default)."""
    pilot = Pilot.objects.select_for_update().get(pk=pilot.pk)
    if pilot.status in _ENDING:
        raise EnrollmentError(
            gettext("Cannot enrol %(business)s in “%(pilot)s”: the pilot is %(status)s.")
            % {
                "business": business.name,
                "pilot": pilot.name,
                "status": pilot.get_status_display().lower(),
            }
        )
    enrollment = Enrollment(
        pilot=pilot,
        business=business,
        trial_limit=trial_limit if trial_limit is not None else pilot.default_trial_limit,
    )
    try:
        enrollment.full_clean()
    except ValidationError as error:
        raise EnrollmentError(error.messages) from error
    try:
        with transaction.atomic():
            enrollment.save()
            transaction.on_commit(intake_facts_invalidate)
    except IntegrityError as error:
        # Another request enrolled the business between the check and the insert.
        raise EnrollmentError(
            gettext("%(business)s is already enrolled in an active pilot; withdraw it there first.")
            % {"business": business.name}
        ) from error
    event_record(
        subject=enrollment,
        action="enrollment_create",
        message=f"Enrolled with a trial limit of {enrollment.trial_limit}.",
        actor=actor,
    )
    event_record(
        subject=pilot,
        action="enrollment_create",
        message=f"{business.name} enrolled.",
        actor=actor,
        data={"business": business.pk, "trial_limit": enrollment.trial_limit},
    )
    return enrollment


def _enrollment_end(
    *, enrollment: Enrollment, status: str, actor: Actor, message: str
) -> Enrollment:
    enrollment.status = status
    enrollment.ended_at = timezone.now()
    transaction.on_commit(intake_facts_invalidate)
    enrollment.full_clean()
    enrollment.save(update_fields=["status", "ended_at", "updated_at"])
    event_record(subject=enrollment, action=f"enrollment_{status}", message=message, actor=actor)
    return enrollment


@transaction.atomic
def enrollment_close_full(*, enrollment: Enrollment, actor: Actor = None) -> Enrollment | None:
    """Close an enrollment that reached its trial limit (the daily lifecycle does this).

    None when there is nothing to do: not full, or closed a moment ago by a twin run.
    """
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status != Enrollment.Status.ACTIVE or not enrollment.is_full:
        return None
    return _enrollment_end(
        enrollment=enrollment,
        status=Enrollment.Status.CLOSED,
        actor=actor,
        message=f"Closed: the trial limit of {enrollment.trial_limit} was reached.",
    )


@transaction.atomic
def enrollment_withdraw(
    *, enrollment: Enrollment, actor: Actor = None, reason: str = ""
) -> Enrollment:
    """Take a business out of its pilot; its codes stay, feedback stops counting for the pilot."""
    enrollment = (
        Enrollment.objects.select_for_update()
        .select_related("business", "pilot")
        .get(pk=enrollment.pk)
    )
    if enrollment.status != Enrollment.Status.ACTIVE:
        raise EnrollmentError(
            gettext("%(business)s is not active in “%(pilot)s” (it is %(status)s).")
            % {
                "business": enrollment.business.name,
                "pilot": enrollment.pilot.name,
                "status": enrollment.get_status_display().lower(),
            }
        )
    _enrollment_end(
        enrollment=enrollment,
        status=Enrollment.Status.WITHDRAWN,
        actor=actor,
        message="Withdrawn" + (f": {reason}" if reason else "."),
    )
    event_record(
        subject=enrollment.pilot,
        action="enrollment_withdrawn",
        message=f"{enrollment.business.name} withdrawn.",
        actor=actor,
        data={"business": enrollment.business_id},
    )
    return enrollment


# ------------------------------------------------------------------------------
# QR codes
# ------------------------------------------------------------------------------
def _placements_clean(placements: Iterable[str]) -> list[str]:
    cleaned, seen = [], set()
    for placement in (p.strip() for p in placements):
        if not placement:
            continue
        if placement.casefold() in seen:
            raise QRCodeError(
                gettext("“%(placement)s” is listed twice.") % {"placement": placement}
            )
        seen.add(placement.casefold())
        cleaned.append(placement)
    if not cleaned:
        raise QRCodeError(gettext("Give at least one placement, e.g. “Table 1”."))
    return cleaned


@transaction.atomic
def qr_codes_generate(
    *, business: Business, placements: Iterable[str], actor: Actor = None
) -> list[QRCode]:
    """Issue one new active code for each placement label of ``business``."""
    labels = _placements_clean(placements)
    Business.objects.select_for_update().get(pk=business.pk)
    taken = set(
        business.qr_codes.filter(status=QRCode.Status.ACTIVE, placement__in=labels).values_list(
            "placement", flat=True
        )
    )
    if taken:
        raise QRCodeError(
            gettext(
                "These placements already have an active code: %(placements)s. "
                "Regenerate those codes instead."
            )
            % {"placements": ", ".join(sorted(taken))}
        )
    codes = [
        QRCode(business=business, placement=label, token=printed_link_token()) for label in labels
    ]
    for code in codes:
        code.full_clean(validate_constraints=False)  # checked above, under the lock
    created = QRCode.objects.bulk_create(codes)
    transaction.on_commit(intake_facts_invalidate)  # the new tokens may be cached as unknown
    # bulk_create sets primary keys on PostgreSQL and SQLite 3.35+.
    for code in created:
        event_record(subject=code, action="qr_generate", message="Code issued.", actor=actor)
    listed = ", ".join(labels[:10]) + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")
    event_record(
        subject=business,
        action="qr_generate",
        message=f"{len(created)} QR code(s) issued: {listed}."[:500],
        actor=actor,
        data={"placements": labels},
    )
    return created


def _qr_revoke_locked(*, qr_code: QRCode, actor: Actor, message: str) -> QRCode:
    if qr_code.status != QRCode.Status.ACTIVE:
        raise QRCodeError(gettext("The code for %(code)s is already revoked.") % {"code": qr_code})
    qr_code.status = QRCode.Status.REVOKED
    qr_code.revoked_at = timezone.now()
    transaction.on_commit(intake_facts_invalidate)
    qr_code.full_clean(validate_constraints=False)
    qr_code.save(update_fields=["status", "revoked_at", "updated_at"])
    event_record(subject=qr_code, action="qr_revoke", message=message, actor=actor)
    return qr_code


@transaction.atomic
def qr_code_revoke(*, qr_code: QRCode, actor: Actor = None) -> QRCode:
    """Stop a code from accepting feedback; its token is never issued again."""
    qr_code = QRCode.objects.select_for_update().select_related("business").get(pk=qr_code.pk)
    return _qr_revoke_locked(qr_code=qr_code, actor=actor, message="Code revoked.")


@transaction.atomic
def qr_code_regenerate(*, qr_code: QRCode, actor: Actor = None) -> QRCode:
    """Revoke ``qr_code`` and issue a new one, with a new token, for the same placement."""
    old = QRCode.objects.select_for_update().select_related("business").get(pk=qr_code.pk)
    _qr_revoke_locked(qr_code=old, actor=actor, message="Code revoked and replaced.")
    new = QRCode(business=old.business, placement=old.placement, token=printed_link_token())
    new.full_clean()
    new.save()
    old.replaced_by = new
    old.save(update_fields=["replaced_by", "updated_at"])
    event_record(
        subject=new,
        action="qr_generate",
        message="Code issued to replace a revoked one.",
        actor=actor,
        data={"replaces": old.pk},
    )
    return new


@transaction.atomic
def enrollment_trial_limit_set(
    *, enrollment: Enrollment, trial_limit: int, actor: Actor = None
) -> Enrollment:
    """Give an enrollment its own trial limit."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    previous = enrollment.trial_limit
    if previous == trial_limit:
        return enrollment
    enrollment.trial_limit = trial_limit
    transaction.on_commit(intake_facts_invalidate)
    enrollment.full_clean()
    enrollment.save(update_fields=["trial_limit", "updated_at"])
    event_record(
        subject=enrollment,
        action="enrollment_trial_limit",
        message=f"Trial limit changed from {previous} to {trial_limit}.",
        actor=actor,
        data={"from": previous, "to": trial_limit},
    )
    return enrollment


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


# ------------------------------------------------------------------------------
# Daily figures (the snapshots the dashboard and the success report read)
# ------------------------------------------------------------------------------
def _daily_metric_values(enrollment: Enrollment, figures: DayFigures) -> dict:
    return {
        "business_id": enrollment.business_id,
        "pilot_id": enrollment.pilot_id,
        "scans": figures.scans,
        "submissions": figures.submissions,
        "eligible": figures.eligible,
        "quality_total": figures.quality_total,
        "quality_average": figures.quality_average,
        "categories": figures.categories,
        "rubrics": figures.rubrics,
        "payments_paid": figures.paid,
        "payments_failed": figures.failed,
    }


def daily_metrics_store(
    enrollments: dict[int, Enrollment], figures: dict[int, dict[date, DayFigures]]
) -> int:
    """Keep closed days that were counted live as snapshots (the daily job had not yet).

    Counted once, not on every read; a snapshot already there (the job, or a
    twin reading at the same time) is left as it is.
    """
    rows = [
        DailyMetric(enrollment_id=pk, day=day, **_daily_metric_values(enrollments[pk], counted))
        for pk, days in figures.items()
        for day, counted in days.items()
    ]
    return len(DailyMetric.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000))


def _daily_metrics_write(
    *, enrollments: list[Enrollment], day: date, existing_only: bool
) -> tuple[int, int]:
    """Count ``day`` for ``enrollments`` and store it; (made, replaced)."""
    counted = figures_counted(enrollments, {e.pk: [day] for e in enrollments})
    made = replaced = 0
    for enrollment in enrollments:
        values = _daily_metric_values(enrollment, counted[enrollment.pk][day])
        if existing_only:
            replaced += DailyMetric.objects.filter(enrollment=enrollment, day=day).update(
                **values, taken_at=timezone.now()
            )
            continue
        _, created = DailyMetric.objects.update_or_create(
            enrollment=enrollment, day=day, defaults=values
        )
        made, replaced = made + created, replaced + (not created)
    return made, replaced


@transaction.atomic
def daily_metrics_take(*, day: date) -> tuple[int, int]:
    """Snapshot ``day`` for every enrollment that ran on it: an upsert; (made, replaced)."""
    enrollments = list(
        Enrollment.objects.filter(pilot__starts_on__lte=day, pilot__ends_on__gte=day)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__date__gte=day))
        .select_related("business", "pilot")
    )
    return _daily_metrics_write(enrollments=enrollments, day=day, existing_only=False)


@transaction.atomic
def daily_metrics_recount(*, day: date, enrollment_ids: Iterable[int]) -> int:
    """Late data for a snapshotted day: count it again. Days not yet snapshotted are left
    to the daily job (and read live until then). Returns the snapshots replaced."""
    if day >= timezone.localdate():
        return 0
    enrollments = list(Enrollment.objects.filter(pk__in=set(enrollment_ids)))
    return _daily_metrics_write(enrollments=enrollments, day=day, existing_only=True)
