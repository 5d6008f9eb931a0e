"""Every state change of businesses, pilots, enrollments and QR codes, and the daily figures.

Feedback intake (submissions, scans, the intake switch) is pilots.intake.

Each service checks what it is allowed to do, changes the rows under a lock,
and writes a history event in the same transaction.
"""

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy

from core.services import Actor, event_record
from core.tokens import printed_link_token
from pilots.daily_figures import DayFigures, figures_counted
from pilots.models import (
    Business,
    DailyMetric,
    Enrollment,
    Pilot,
    QRCode,
)
from pilots.selectors import intake_facts_invalidate


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
