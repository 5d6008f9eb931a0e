"""Settings for Pilot Ops: one module, driven by environment variables.

Two run modes share this file, chosen by ``PILOTOPS_MODE``:

* ``embedded`` (the default, no variables needed): SQLite under ``var/``, a
  local-memory cache, console e-mail and a Celery broker on the file system,
  so ``make run`` works on a bare machine.
* ``production``: every service URL and the secret key must be given; a
  missing one stops start-up with a message that names it.

In embedded mode each service URL can still be set on its own (CI runs the
suite against PostgreSQL and Redis that way). Variables are read from the
process environment, then from ``.env`` if present; ``.env.example`` lists
them all.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

from config.caches import cache_config
from core.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

EMBEDDED = "embedded"
PRODUCTION = "production"
PILOTOPS_MODE = env.str("PILOTOPS_MODE", default=EMBEDDED)
IS_PRODUCTION = PILOTOPS_MODE == PRODUCTION


def configuration_error(message: str) -> SystemExit:
    """Stop start-up with one readable line (exit status 1), not a traceback."""
    return SystemExit(f"Pilot Ops configuration error: {message}")


if PILOTOPS_MODE not in (EMBEDDED, PRODUCTION):
    raise configuration_error(
        f"PILOTOPS_MODE must be '{EMBEDDED}' or '{PRODUCTION}', not {PILOTOPS_MODE!r}."
    )


def required_in_production(name: str, embedded_default: str) -> str:
    """Read ``name``; in production it must be set, in embedded mode it has a default."""
    value = env.str(name, default="")
    if value:
        return value
    if IS_PRODUCTION:
        raise configuration_error(
            f"{name} is not set; it is required when PILOTOPS_MODE=production."
        )
    return embedded_default


# Where the embedded mode keeps its database, broker queue and other state.
VAR_DIR = Path(env.str("PILOTOPS_VAR_DIR", default=str(BASE_DIR / "var")))

# ------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=not IS_PRODUCTION)
if IS_PRODUCTION and DEBUG:
    raise configuration_error("DJANGO_DEBUG must be off when PILOTOPS_MODE=production.")

SECRET_KEY = required_in_production(
    "DJANGO_SECRET_KEY",
    embedded_default="embedded-development-key-not-for-production-7d1c4f0a9b2e8c6d5f3a1b0e",
)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"],
)
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise configuration_error(
        "DJANGO_ALLOWED_HOSTS is not set; it is required when PILOTOPS_MODE=production."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address printed under every QR code and in e-mailed links.
PUBLIC_BASE_URL = required_in_production(
    "PUBLIC_BASE_URL", embedded_default=f"http://localhost:{env.int('PORT', default=8000)}"
).rstrip("/")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_prometheus",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core",
    "pilots",
    "support",
    "rollouts",
    "billing",
    "privacy",
    "backups",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.request_limits.RequestBodyLimitMiddleware",
    "core.flags.FeatureFlagMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.i18n.StaffLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.security.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a lockout into its page.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pilots.context_processors.stripe_status",
            ],
        },
    },
    # Plain-text messages (e-mails, SMS, Slack) are rendered without HTML
    # escaping: a café called "A & B" stays "A & B" (core.outbox.text_render).
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "NAME": "text",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
    },
]

# ------------------------------------------------------------------------------
# Database
# ------------------------------------------------------------------------------
# Every engine goes through django-prometheus so queries are counted on /metrics.
DATABASES = {
    "default": environ.Env.db_url_config(
        required_in_production("DATABASE_URL", f"sqlite:///{VAR_DIR / 'pilotops.sqlite3'}")
    )
}
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web, worker and beat processes read while one writes;
    # IMMEDIATE transactions take the write lock up front instead of failing
    # with "database is locked" when a read transaction later tries to write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Persistent connections, checked before reuse: never a new connection per request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# ------------------------------------------------------------------------------
# Cache
# ------------------------------------------------------------------------------
CACHES = {"default": cache_config(required_in_production("CACHE_URL", "locmemcache://pilotops"))}
# A cache that stops answering is logged, never a 500: see config/caches.py.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Scans of the feedback form are counted in the cache and written to the daily
# scan rows by the scan_flush job each minute, when every process shares the
# cache (Redis); with the embedded per-process memory cache, each counted scan
# is written at once.
SCAN_COUNTS_IN_CACHE = "LocMemCache" not in CACHES["default"]["BACKEND"]
# How long a printed code's intake facts (code, business, pilot, switch) are
# reused by the form before they are read again; every change through the
# services invalidates them at once.
INTAKE_FACTS_CACHE_SECONDS = env.int("INTAKE_FACTS_CACHE_SECONDS", default=30)

# ------------------------------------------------------------------------------
# Security
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if IS_PRODUCTION:
    # TLS ends at the proxy in front of gunicorn, which sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Load balancers and Prometheus probe these over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    # Off only where nothing speaks TLS at all (deploy/run-local on 127.0.0.1).
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# Staff sign-in: django-axes locks an account for one client address after
# AXES_FAILURE_LIMIT wrong passwords within AXES_COOLOFF_MINUTES (superusers
# unlock it in the admin under Axes); django-otp adds time-based codes, which
# superusers and Pilot managers must have in production.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.client.client_address"
AXES_HANDLER = "core.security.SecurityEventAxesHandler"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "otp_token"]
SECOND_FACTOR_REQUIRED = IS_PRODUCTION
OTP_TOTP_ISSUER = "Pilot Ops"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ------------------------------------------------------------------------------
# Internationalisation
# ------------------------------------------------------------------------------
# The back office speaks English, or Swedish to staff whose profile says so
# (core.i18n.StaffLanguageMiddleware); the public pages (feedback form, staff
# link) choose Swedish or English themselves, from the business and the visitor.
LANGUAGE_CODE = "en"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# Static files
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
if IS_PRODUCTION:
    # Filled by `collectstatic` at deploy; WhiteNoise serves it from gunicorn.
    STATIC_ROOT = BASE_DIR / "staticfiles"
else:
    # WhiteNoise serves straight from the apps' and project's static folders.
    STATIC_ROOT = VAR_DIR / "static"
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# ------------------------------------------------------------------------------
# E-mail
# ------------------------------------------------------------------------------
# Every e-mail goes through the outbox (core/outbox.py), delivered by a Celery
# task: no request waits on the mail server. The embedded mode's console
# backend prints masked recipients and no links.
_email = environ.Env.email_url_config(required_in_production("EMAIL_URL", "consolemail://"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
if EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":
    EMAIL_BACKEND = "core.email_gateway.MaskedConsoleEmailBackend"
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pilot Ops <pilotops@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds to wait for the mail server to connect or answer.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# ------------------------------------------------------------------------------
# SMS and the outbox
# ------------------------------------------------------------------------------
# An HTTP SMS gateway in 46elks' shape (https://api.46elks.com/a1). Empty: texts
# stay on the admin's outbox page (the embedded mode).
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_USERNAME = env.str("SMS_GATEWAY_USERNAME", default="")
SMS_GATEWAY_PASSWORD = env.str("SMS_GATEWAY_PASSWORD", default="")
# The sender name shown on the phone (at most 11 letters or digits).
SMS_SENDER = env.str("SMS_SENDER", default="PilotOps")
SMS_CONNECT_TIMEOUT_SECONDS = env.float("SMS_CONNECT_TIMEOUT_SECONDS", default=5.0)
SMS_READ_TIMEOUT_SECONDS = env.float("SMS_READ_TIMEOUT_SECONDS", default=15.0)
# Retries of an undelivered message: BASE, 2·BASE, 4·BASE … seconds, at most an hour apart.
MESSAGE_RETRY_BASE_SECONDS = env.int("MESSAGE_RETRY_BASE_SECONDS", default=60)
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=8)
# A message still "sending" after this long lost its worker: its outcome is unknown.
MESSAGE_SENDING_STUCK_SECONDS = env.int("MESSAGE_SENDING_STUCK_SECONDS", default=300)

# ------------------------------------------------------------------------------
# On call: Slack and acknowledgement links
# ------------------------------------------------------------------------------
# The incoming webhook of the on-call Slack channel (a secret). Empty: posts
# stay on the admin's outbox page (the embedded mode).
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
SLACK_CONNECT_TIMEOUT_SECONDS = env.float("SLACK_CONNECT_TIMEOUT_SECONDS", default=5.0)
SLACK_READ_TIMEOUT_SECONDS = env.float("SLACK_READ_TIMEOUT_SECONDS", default=10.0)
# How long the acknowledgement link in a page works (each link works once).
ACK_LINK_MAX_AGE_HOURS = env.int("ACK_LINK_MAX_AGE_HOURS", default=24)
# Acknowledgement page requests allowed per client (hashed address).
ACK_LINK_RATE = env.str("ACK_LINK_RATE", default="30/h")

# ------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------
CELERY_BROKER_URL = required_in_production("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("redis"):
    # A task a worker took but never acknowledged (the worker was killed, its
    # machine lost) goes back to the queue after this long (acks_late). Longer
    # than any task runs; tasks are idempotent, so a redelivery is harmless.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600),
        # Every worker looks for such abandoned tasks every 10 seconds.
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_FOLDER = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    for folder in (CELERY_BROKER_FOLDER, VAR_DIR / "celery" / "control"):
        folder.mkdir(parents=True, exist_ok=True)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Every worker writes a heartbeat this often; /health/status/ and
# pilotops_workers_alive count those seen within the max age.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=30)
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=90)


# The one schedule of periodic work, synced into django-celery-beat by its
# DatabaseScheduler when beat starts.
# Daily and weekly jobs are triggered hourly and run once per local date or
# week from 02:00 Stockholm (see core/maintenance.py for why not a 02:00 crontab).
def _maintenance(job: str, schedule, expires: int) -> dict:
    return {
        "task": "core.tasks.maintenance",
        "schedule": schedule,
        "args": [job],
        "options": {"expires": expires},
    }


CELERY_BEAT_SCHEDULE = {
    "core-beat-heartbeat": {
        "task": "core.tasks.beat_heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "support-sla-sweep": _maintenance("sla_sweep", 60.0, 55),
    "support-escalations": _maintenance("escalations", 60.0, 55),
    "core-outbox-delivery": _maintenance("outbox_delivery", 60.0, 55),
    "pilots-scan-flush": _maintenance("scan_flush", 60.0, 55),
    "pilots-payout-run": _maintenance("payout_run", 300.0, 290),
    "pilots-probe": _maintenance("probe", 300.0, 290),
    "billing-dunning": _maintenance("billing_dunning", crontab(minute=25), 3000),
    "pilots-health": _maintenance("pilot_health", crontab(minute=15), 3000),
    "pilots-kpi-snapshot": _maintenance("kpi_snapshot", crontab(minute=5), 3000),
    "pilots-lifecycle": _maintenance("pilot_lifecycle", crontab(minute=6), 3000),
    "ops-retention-sweep": _maintenance("retention_sweep", crontab(minute=7), 3000),
    "pilots-daily-report": _maintenance("daily_report", crontab(minute=10), 3000),
    "pilots-weekly-report": _maintenance("weekly_report", crontab(minute=20), 3000),
    "pilots-stripe-reconciliation": _maintenance("stripe_reconciliation", crontab(minute=21), 3000),
    "support-auto-close": _maintenance("tickets_auto_close", crontab(minute=22), 3000),
    "pilots-qr-audit": _maintenance("qr_audit", crontab(minute=23), 3000),
    "pilots-success-reports": _maintenance("success_reports", crontab(minute=24), 3000),
    "rollouts-guard": _maintenance("rollouts_guard", 60.0, 55),
    "backups-create": _maintenance("backup", crontab(minute=30), 3000),
    "backups-verify": _maintenance("backup_verify", crontab(minute=40), 3000),
    "backups-restore-drill": _maintenance("restore_drill", crontab(minute=45), 3000),
}

# Contact data (reward contacts, staff-ticket contacts), scan counters and Stripe
# event payloads older than this are purged by the daily retention sweep.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=90)
# A periodic job's run holds a lease for this long and renews it after each
# piece of work; a run whose worker died is taken over once it has expired
# (at once when the dead worker was on the same machine). Jobs due every
# minute hold theirs for at most two minutes.
MAINTENANCE_LEASE_SECONDS = env.int("MAINTENANCE_LEASE_SECONDS", default=600)
# The synthetic probe drives the public form at this address (the load
# balancer in production), waiting at most this long for each answer.
PROBE_BASE_URL = env.str("PROBE_BASE_URL", default=PUBLIC_BASE_URL).rstrip("/")
PROBE_TIMEOUT_SECONDS = env.float("PROBE_TIMEOUT_SECONDS", default=10.0)
# /health/status/ and the scheduler metric call beat stale when its last heartbeat is older.
BEAT_HEARTBEAT_MAX_AGE_SECONDS = env.int("BEAT_HEARTBEAT_MAX_AGE_SECONDS", default=180)

# ------------------------------------------------------------------------------
# Backups
# ------------------------------------------------------------------------------
# Dumps (pg_dump --format=custom, or a SQLite copy) and their manifests are
# written here; keep it on another disk than the database, and copy it off site.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
# Retention: the newest backup of each of the last KEEP_DAILY days and of each
# of the last KEEP_MONTHLY months; the newest verified one is never deleted.
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=30)
BACKUP_KEEP_MONTHLY = env.int("BACKUP_KEEP_MONTHLY", default=12)
# /health/status/ calls the backups stale past this age (the RPO promised: 24 h).
BACKUP_MAX_AGE_SECONDS = env.int("BACKUP_MAX_AGE_SECONDS", default=24 * 3600)
# The restore time promised (RTO); a verification or drill slower than this fails.
BACKUP_RTO_SECONDS = env.int("BACKUP_RTO_SECONDS", default=4 * 3600)
# pg_restore's parallel jobs.
BACKUP_RESTORE_JOBS = env.int("BACKUP_RESTORE_JOBS", default=2)
# The application version written into every manifest (the image tag in
# production); empty: the git commit of the code, when there is one.
APP_VERSION = env.str("APP_VERSION", default="")

# ------------------------------------------------------------------------------
# Public pages
# ------------------------------------------------------------------------------
# The networks of our own proxies (CIDR). X-Forwarded-For is read only when the
# direct peer is in one of them; empty: the direct peer is the client.
# gunicorn's forwarded_allow_ips follows the same list (deploy/gunicorn.conf.py).
TRUSTED_PROXY_NETWORKS = env.list("TRUSTED_PROXY_NETWORKS", default=[])
for _network in TRUSTED_PROXY_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise configuration_error(
            f"TRUSTED_PROXY_NETWORKS: {_network!r} is not a network like 10.0.0.0/8."
        ) from None
# Submissions allowed per device (the device cookie with the hashed address),
# per network (hashed address: a busy café's Wi-Fi carries many customers) and
# per printed code.
FEEDBACK_RATE_PER_DEVICE = env.str("FEEDBACK_RATE_PER_DEVICE", default="10/h")
FEEDBACK_RATE_PER_NETWORK = env.str("FEEDBACK_RATE_PER_NETWORK", default="120/h")
FEEDBACK_RATE_PER_CODE = env.str("FEEDBACK_RATE_PER_CODE", default="120/h")
# The same device sending near-identical feedback within this many minutes is a duplicate.
FEEDBACK_DUPLICATE_MINUTES = env.int("FEEDBACK_DUPLICATE_MINUTES", default=10)
# Reports allowed per client (hashed address) through café staff links.
STAFF_REPORT_RATE = env.str("STAFF_REPORT_RATE", default="20/h")
# Reports allowed through one staff link, from every client together.
STAFF_REPORT_RATE_PER_LINK = env.str("STAFF_REPORT_RATE_PER_LINK", default="30/h")
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
# The privacy page's self-service requests: per client (hashed address), and
# links sent to one contact; how long the link sent works (once).
DATA_REQUEST_RATE_PER_CLIENT = env.str("DATA_REQUEST_RATE_PER_CLIENT", default="5/h")
DATA_REQUEST_RATE_PER_CONTACT = env.str("DATA_REQUEST_RATE_PER_CONTACT", default="3/d")
DATA_REQUEST_LINK_MAX_AGE_HOURS = env.int("DATA_REQUEST_LINK_MAX_AGE_HOURS", default=24)

# ------------------------------------------------------------------------------
# Rewards and Stripe
# ------------------------------------------------------------------------------
# Without a secret key, payouts wait and the admin says Stripe is not configured.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Another Stripe API address, such as the local fake used by the tests.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
# Fraud rules: past these counts in one local day, a new reward is held for review.
REWARD_LIMIT_PER_RECIPIENT_BUSINESS_DAY = env.int(
    "REWARD_LIMIT_PER_RECIPIENT_BUSINESS_DAY", default=1
)
REWARD_LIMIT_PER_RECIPIENT_DAY = env.int("REWARD_LIMIT_PER_RECIPIENT_DAY", default=3)
REWARD_LIMIT_PER_CLIENT_DAY = env.int("REWARD_LIMIT_PER_CLIENT_DAY", default=5)
# A payout still "processing" after this many seconds lost the run sending it:
# its outcome is unknown, and the next run asks Stripe.
PAYOUT_STUCK_SECONDS = env.int("PAYOUT_STUCK_SECONDS", default=30 * 60)
# Transfer requests per payout before it needs attention (then Stripe is only asked).
PAYOUT_MAX_ATTEMPTS = env.int("PAYOUT_MAX_ATTEMPTS", default=8)
# A payout whose answer was lost is sent again after BASE, 2·BASE, 4·BASE … seconds.
PAYOUT_BACKOFF_BASE_SECONDS = env.int("PAYOUT_BACKOFF_BASE_SECONDS", default=60)
# How long a payout run holds its lease between renewals; a killed run's lease
# expires after this long and the next run takes over.
PAYOUT_RUN_LEASE_SECONDS = env.int("PAYOUT_RUN_LEASE_SECONDS", default=120)
CLAIM_LINK_MAX_AGE_DAYS = 30

# ------------------------------------------------------------------------------
# Billing (plans and subscriptions on Stripe Billing)
# ------------------------------------------------------------------------------
# After a failed or overdue invoice, the plan's features stay on this many days.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=14)
# Days a café paying by invoice has to pay each one.
BILLING_DAYS_UNTIL_DUE = env.int("BILLING_DAYS_UNTIL_DUE", default=30)

# ------------------------------------------------------------------------------
# Incidents and operator endpoints
# ------------------------------------------------------------------------------
# Alertmanager sends it as a bearer token; without one the receiver refuses everything.
ALERTMANAGER_TOKEN = env.str("ALERTMANAGER_TOKEN", default="")
# The bearer token Prometheus and operators send to /metrics and the detailed
# health pages in production.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where gunicorn's workers keep their Prometheus counters, so /metrics from any
# worker gives the totals of all (prometheus_client reads the same variable).
# Emptied by deploy/gunicorn.conf.py when gunicorn starts.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")


# ------------------------------------------------------------------------------
# Feature flags and rollouts
# ------------------------------------------------------------------------------
# FEATURE_<NAME>=1 or 0 turns a feature on or off for every business, whatever
# the admin says: the emergency path that needs no admin (and a restart).
def _feature_overrides() -> dict[str, bool]:
    words = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}
    overrides = {}
    for variable, value in os.environ.items():
        if not variable.startswith("FEATURE_") or variable == "FEATURE_":
            continue
        if value.strip().lower() not in words:
            raise configuration_error(f"{variable} must be 1 or 0, not {value!r}.")
        overrides[variable.removeprefix("FEATURE_").lower()] = words[value.strip().lower()]
    return overrides


FEATURE_OVERRIDES = _feature_overrides()
# How long the flags' rules are reused from the cache; every change through the
# services drops them at once (with the embedded per-process cache, other
# processes see a change within this time).
FLAGS_CACHE_SECONDS = env.int("FLAGS_CACHE_SECONDS", default=30)
# Each process writes its counts of requests per flag at most this often.
FEATURE_COUNTS_FLUSH_SECONDS = env.int("FEATURE_COUNTS_FLUSH_SECONDS", default=10)
# Per-minute request counts older than this are deleted by the rollout job.
FEATURE_COUNTS_KEPT_DAYS = env.int("FEATURE_COUNTS_KEPT_DAYS", default=14)

# ------------------------------------------------------------------------------
# Logging
# ------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "text")
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)

# ------------------------------------------------------------------------------
# Demo data
# ------------------------------------------------------------------------------
# The password `seed_demo` gives the demo superuser. In production there is no
# default: a random one is made and printed once.
DEMO_ADMIN_USERNAME = env.str("DEMO_ADMIN_USERNAME", default="admin")
DEMO_ADMIN_PASSWORD = env.str(
    "DEMO_ADMIN_PASSWORD", default="" if IS_PRODUCTION else "pilotops-demo"
)
