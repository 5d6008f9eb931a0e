"""The pilots part's models, in three modules: the programme, feedback and rewards."""

from pilots.models.feedback import (
    Category,
    DailyMetric,
    Feedback,
    IntakeSwitch,
    ProbeRun,
    ScanCount,
    validate_categories,
)
from pilots.models.programme import (
    STOCKHOLM,
    Business,
    Enrollment,
    PeakWindow,
    Pilot,
    QRCode,
    Tag,
    parse_peak_hours,
    validate_peak_hours,
    validate_timezone,
)
from pilots.models.rewards import (
    Payment,
    Payout,
    PayoutAttempt,
    PayoutSwitch,
    RewardRecipient,
    StripeEvent,
)

__all__ = [
    "STOCKHOLM",
    "Business",
    "Category",
    "DailyMetric",
    "Enrollment",
    "Feedback",
    "IntakeSwitch",
    "Payment",
    "Payout",
    "PayoutAttempt",
    "PayoutSwitch",
    "PeakWindow",
    "Pilot",
    "ProbeRun",
    "QRCode",
    "RewardRecipient",
    "ScanCount",
    "StripeEvent",
    "Tag",
    "parse_peak_hours",
    "validate_categories",
    "validate_peak_hours",
    "validate_timezone",
]
