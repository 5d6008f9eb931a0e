"""Fixtures shared by the whole suite."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.test import Client as DjangoClient

from core import roles

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Debian's chromium through Playwright: the fixtures every browser test uses.
pytest_plugins = ["tests.browsers"]
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# Variables that choose the run mode or a service; scrubbed for subprocesses
# that must see exactly the environment a test gives them.
SETTINGS_VARIABLES = (
    "PILOTOPS_MODE",
    "PILOTOPS_VAR_DIR",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "PUBLIC_BASE_URL",
    "DATABASE_URL",
    "CACHE_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "DEMO_ADMIN_PASSWORD",
)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (Redis in CI keeps it between tests)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_feature_counts_carried_over():
    """Requests of one test are not counted into the next test's database."""
    from core import flags

    flags.tally.take()
    yield
    flags.tally.take()


@pytest.fixture(autouse=True, scope="session")
def _backups_in_a_scratch_folder(tmp_path_factory):
    """Backups the suite makes (every job runs in some tests) stay out of var/backups/,
    here and in the processes tests start."""
    from django.conf import settings

    folder = tmp_path_factory.mktemp("backups")
    os.environ["BACKUP_DIR"] = str(folder)
    settings.BACKUP_DIR = folder
    yield folder
    os.environ.pop("BACKUP_DIR", None)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Keep the SQLite test database in a file so worker processes can open it too."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(settings.VAR_DIR / "test.sqlite3")


def run_manage(*args: str, env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess:
    """Run ``manage.py`` in a fresh interpreter with exactly the settings variables in ``env``."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def staff_member(django_user_model):
    """Make an active staff user in one of the staff groups."""

    def make(group_name: str, username: str | None = None):
        user = django_user_model.objects.create_user(
            username=username or group_name.lower().replace(" ", "-"),
            password="not-used-in-tests",
            is_staff=True,
        )
        user.groups.add(Group.objects.get(name=group_name))
        return user

    return make


class Client(DjangoClient):
    """Posts a dict of form data the way a browser does: URL-encoded.

    Public forms take nothing else (multipart is refused before parsing);
    pass ``content_type`` for anything other than a browser form.
    """

    def post(self, path, data=None, content_type=FORM_CONTENT_TYPE, **extra):
        if content_type == FORM_CONTENT_TYPE and isinstance(data, dict):
            data = urlencode(data, doseq=True)
        return super().post(path, data, content_type=content_type, **extra)


@pytest.fixture
def client():
    """pytest-django's ``client``, posting forms like a browser."""
    return Client()


def _logged_in_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager_client(staff_member):
    return _logged_in_client(staff_member(roles.PILOT_MANAGERS))


@pytest.fixture
def agent_client(staff_member):
    return _logged_in_client(staff_member(roles.SUPPORT_AGENTS))


@pytest.fixture
def viewer_client(staff_member):
    return _logged_in_client(staff_member(roles.VIEWERS))


# ------------------------------------------------------------------------------
# Pilots
# ------------------------------------------------------------------------------
@pytest.fixture
def make_business(db):
    from pilots.models import Business

    def make(name: str = "Café Test", **fields) -> Business:
        from django.utils.text import slugify

        defaults = {
            "slug": slugify(name),
            "city": "Stockholm",
            "expected_daily_customers": 500,
            "status": Business.Status.ACTIVE,
        }
        return Business.objects.create(name=name, **{**defaults, **fields})

    return make


@pytest.fixture
def make_pilot(db):
    import datetime

    from django.utils import timezone

    from pilots.models import Pilot

    def make(name: str = "Test pilot", **fields) -> Pilot:
        from django.utils.text import slugify

        today = timezone.localdate()
        defaults = {
            "slug": slugify(name),
            "starts_on": today - datetime.timedelta(days=7),
            "ends_on": today + datetime.timedelta(days=30),
        }
        return Pilot.objects.create(name=name, **{**defaults, **fields})

    return make


@pytest.fixture
def business(make_business):
    return make_business("Café Aurora")


@pytest.fixture
def pilot(make_pilot):
    return make_pilot("Swedish café pilot")


@pytest.fixture
def active_pilot(pilot):
    from pilots.services import pilot_activate

    return pilot_activate(pilot=pilot)


@pytest.fixture
def enrolled(active_pilot, business):
    """Café Aurora, enrolled in an active pilot (10 kr reward, threshold 60)."""
    from pilots.services import enrollment_create

    return enrollment_create(pilot=active_pilot, business=business)


@pytest.fixture
def open_code(enrolled):
    """A printed code whose form takes feedback for the pilot."""
    from pilots.services import qr_codes_generate

    (code,) = qr_codes_generate(business=enrolled.business, placements=["Table 4"])
    return code


SPECIFIC_COMMENT = (
    "The cardamom bun was fresh and warm, and the barista was really friendly. "
    "We waited five minutes in the queue at the counter."
)


def good_feedback_submit(code, *, client_hash: str = "a" * 64, **fields):
    """A specific, detailed submission through the real service.

    With ``contact_email`` or ``contact_phone`` and ``consent=True`` it earns
    the reward; the comment names the placement so one client's submissions
    at different codes never read as copy-paste.
    """

    submission = {
        "rating": 5,
        "categories": ["service"],
        "comment": f"{SPECIFIC_COMMENT} We sat at {code.placement}.",
        "language": "sv",
        **fields,
    }
    from pilots import intake

    return intake.feedback_submit(qr_code=code, client_hash=client_hash, **submission)


def feedback_post(**changes) -> dict:
    """Form data of a good submission, with ``changes``."""
    data = {
        "rating": "5",
        "categories": ["food_drink", "service"],
        "comment": SPECIFIC_COMMENT,
        "contact": "anna@example.se",
        "consent": "on",
        "website": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# ------------------------------------------------------------------------------
# Log output
# ------------------------------------------------------------------------------
class _Tee:
    def __init__(self, stream):
        self.stream = stream
        self.lines: list[str] = []

    def write(self, text):
        self.lines.append(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


@pytest.fixture(scope="session", autouse=True)
def log_output_has_no_contact_data():
    """Everything the configured console handler prints during the run is checked at the end."""
    import logging

    from core.logging import EMAIL_PATTERN, PHONE_PATTERN, RedactContactDataFilter

    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactContactDataFilter) for f in handler.filters)
    ]
    assert handlers, "the console handler of settings.LOGGING is installed"
    tees = []
    for handler in handlers:
        tee = _Tee(handler.stream)
        handler.setStream(tee)
        tees.append((handler, tee))
    # A canary proves the check reads what the handler prints.
    logging.getLogger("tests").warning("log check canary for %s", "canary@example.se")
    yield
    printed = "".join(line for _, tee in tees for line in tee.lines)
    for handler, tee in tees:
        handler.setStream(tee.stream)
    leaks = EMAIL_PATTERN.findall(printed) + PHONE_PATTERN.findall(printed)
    assert not leaks, f"contact data reached the log output: {leaks[:5]}"
    assert "log check canary for [email]" in printed


# ------------------------------------------------------------------------------
# Stripe
# ------------------------------------------------------------------------------
STRIPE_TEST_KEY = "sk_test_pilotops_fake_0123456789"


@pytest.fixture(scope="session")
def stripe_fake_server():
    from tests.stripe_fake import running_fake

    with running_fake() as fake:
        yield fake


@pytest.fixture
def stripe_fake(stripe_fake_server, settings):
    """The local Stripe fake, emptied, with Pilot Ops pointed at it."""
    stripe_fake_server.reset()
    settings.STRIPE_SECRET_KEY = STRIPE_TEST_KEY
    settings.STRIPE_API_BASE = stripe_fake_server.url
    settings.STRIPE_WEBHOOK_SECRET = stripe_fake_server.webhook_secret
    settings.STRIPE_TIMEOUT_SECONDS = 1.5
    return stripe_fake_server


def stripe_env(fake) -> dict[str, str]:
    """The same settings for a subprocess."""
    return {
        "STRIPE_SECRET_KEY": STRIPE_TEST_KEY,
        "STRIPE_API_BASE": fake.url,
        "STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
    }


# ------------------------------------------------------------------------------
# Outbox
# ------------------------------------------------------------------------------
def outbox_delivered() -> list:
    """Deliver every due outbox message now, as the every-minute job does; Django's test outbox."""
    from django.core import mail

    from core.outbox import messages_deliver_due

    messages_deliver_due()
    return mail.outbox


def claim_path_of(recipient) -> str:
    """The claim link of the newest claim message sent to ``recipient``, as a path.

    Delivers the outbox first; the link is read from the message's text, the
    only place it exists.
    """
    import re

    from core.models import Message
    from pilots.claims import CLAIM_PURPOSE

    outbox_delivered()
    message = (
        Message.objects.filter(recipient_hash=recipient.contact_hash, purpose=CLAIM_PURPOSE)
        .order_by("-id")
        .first()
    )
    assert message is not None, "a claim link was sent to the recipient"
    return re.search(r"/rewards/claim/[^/\s]+/", message.body).group(0)


def recipient_verified(client, recipient):
    """Open the recipient's claim link, as its owner does: the contact is proven."""
    response = client.get(claim_path_of(recipient))
    assert response.status_code == 200
    recipient.refresh_from_db()
    assert recipient.contact_verified_at is not None
    return recipient


@pytest.fixture(scope="session")
def sms_fake_server():
    from tests.sms_fake import running_sms_fake

    with running_sms_fake() as fake:
        yield fake


@pytest.fixture
def sms_fake(sms_fake_server, settings):
    """The local SMS gateway fake, emptied, with Pilot Ops pointed at it."""
    from tests.sms_fake import PASSWORD, USERNAME

    sms_fake_server.reset()
    settings.SMS_GATEWAY_URL = sms_fake_server.url
    settings.SMS_GATEWAY_USERNAME = USERNAME
    settings.SMS_GATEWAY_PASSWORD = PASSWORD
    settings.SMS_READ_TIMEOUT_SECONDS = 2.0
    return sms_fake_server


@pytest.fixture(scope="session")
def slack_fake_server():
    from tests.slack_fake import running_slack_fake

    with running_slack_fake() as fake:
        yield fake


@pytest.fixture
def slack_fake(slack_fake_server, settings):
    """The local Slack webhook fake, emptied, with Pilot Ops pointed at it."""
    slack_fake_server.reset()
    settings.SLACK_WEBHOOK_URL = slack_fake_server.url
    settings.SLACK_READ_TIMEOUT_SECONDS = 2.0
    return slack_fake_server


def recipient_payable(recipient, fake):
    """Give ``recipient`` an Express account at the Stripe fake that can receive transfers."""
    recipient.stripe_account_id = fake.account_add(payouts_enabled=True)
    recipient.onboarding = recipient.Onboarding.PAYABLE
    recipient.contact_verified_at = recipient.contact_verified_at or recipient.created_at
    recipient.save()
    return recipient


def payable_payments_create(code, enrollment, fake, *, recipients: int, each: int) -> list:
    """``recipients × each`` pending 10 kr payments, each recipient with a payable account."""
    from django.utils import timezone

    from pilots.models import Feedback, Payment, RewardRecipient

    now = timezone.now()
    people = RewardRecipient.objects.bulk_create(
        RewardRecipient(
            contact_hash=f"{n:064x}",
            contact_email=f"guest{n}@example.se",
            stripe_account_id=fake.account_add(payouts_enabled=True),
            onboarding=RewardRecipient.Onboarding.PAYABLE,
            contact_verified_at=now,
        )
        for n in range(recipients)
    )
    feedback = Feedback.objects.bulk_create(
        Feedback(
            business=code.business,
            pilot=enrollment.pilot,
            enrollment=enrollment,
            qr_code=code,
            rating=5,
            language="sv",
            quality_score=90,
            contact_email=f"guest{n % recipients}@example.se",
            consent_at=now,
            reward_eligible=True,
            client_hash=f"{n:064x}",
            submitted_at=now,
        )
        for n in range(recipients * each)
    )
    return Payment.objects.bulk_create(
        Payment(
            feedback=item,
            recipient=people[n % recipients],
            business=code.business,
            pilot=enrollment.pilot,
            client_hash=item.client_hash,
            amount=1000,
            currency="SEK",
        )
        for n, item in enumerate(feedback)
    )
