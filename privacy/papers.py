"""The papers a café's IT asks for: a DPA template, a DPIA and an IT guide, in Swedish and English.

Their facts come from the code, so the papers cannot drift from it: the
fields that hold personal data are the models' ``CONTACT_FIELDS`` (and the
keyed hashes that stand for a contact or a client), retention periods are
the settings the jobs purge by, and sub-processors are the outside services
the settings can switch on. ``python manage.py privacy_papers`` writes them
to docs/privacy/ (``--check`` says whether those files are current); the
admin renders the same papers as PDFs for one business, with that business
named and the services this installation has configured.
"""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import markdown
from django.apps import apps
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core import jobs
from core.pdf import html_to_pdf

PAPERS = {
    "dpa": "Data processing agreement",
    "dpia": "Data protection impact assessment",
    "it-guide": "IT guide",
}
LANGUAGES = ("sv", "en")
DOCS_DIR = Path(settings.BASE_DIR) / "docs" / "privacy"


def project_apps() -> set[str]:
    """Pilot Ops' own parts; the libraries' tables (sessions, sign-in attempts) hold staff data."""
    base = Path(settings.BASE_DIR).resolve()
    return {
        config.label
        for config in apps.get_app_configs()
        if base in Path(config.path).resolve().parents and ".venv" not in Path(config.path).parts
    }


BOOKKEEPING_YEARS = 7


@dataclass(frozen=True)
class PersonalField:
    table: str
    model: str
    field: str
    pseudonymised: bool  # a keyed hash standing for a contact or a client, not the value


@dataclass(frozen=True)
class Retention:
    what: str  # translated when rendered
    setting: str
    amount: int
    unit: str = _("days")


@dataclass(frozen=True)
class SubProcessor:
    name: str
    purpose: str
    data: str
    setting: str
    configured: bool
    host: str


def personal_data_fields() -> list[PersonalField]:
    """Every field that holds contact data, and the hashes that stand for a person."""
    found, ours = [], project_apps()
    for model in apps.get_models():
        if model._meta.app_label not in ours:
            continue
        contact = set(getattr(model, "CONTACT_FIELDS", ()))
        for field in model._meta.get_fields():
            if not getattr(field, "concrete", False):
                continue
            if field.name in contact or field.name.endswith("_hash"):
                found.append(
                    PersonalField(
                        table=model._meta.db_table,
                        model=str(model._meta.verbose_name),
                        field=field.name,
                        pseudonymised=field.name not in contact,
                    )
                )
    return sorted(found, key=lambda item: (item.table, item.field))


def retention_periods() -> list[Retention]:
    """How long each kind of personal data is kept, from the settings the jobs purge by."""
    return [
        Retention(
            _(
                "Contact data of feedback, reward recipients, staff reports and data "
                "requests; text of outbox messages; Stripe event payloads"
            ),
            "RETENTION_DAYS",
            settings.RETENTION_DAYS,
        ),
        Retention(
            _("Reward claim links work for"),
            "CLAIM_LINK_MAX_AGE_DAYS",
            settings.CLAIM_LINK_MAX_AGE_DAYS,
        ),
        Retention(
            _("Self-service data request links work for"),
            "DATA_REQUEST_LINK_MAX_AGE_HOURS",
            settings.DATA_REQUEST_LINK_MAX_AGE_HOURS,
            _("hours"),
        ),
        Retention(
            _("Records of periodic runs"),
            "core.jobs.RUN_RECORDS_KEPT_DAYS",
            jobs.RUN_RECORDS_KEPT_DAYS,
        ),
        Retention(
            _("Payments (amount, date, Stripe references), as bookkeeping law requires"),
            "Bokföringslagen 7 kap. 2 §",
            BOOKKEEPING_YEARS,
            _("years"),
        ),
    ]


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def sub_processors() -> list[SubProcessor]:
    """The outside services Pilot Ops sends personal data to when they are configured."""
    smtp = settings.EMAIL_BACKEND.endswith("smtp.EmailBackend")
    return [
        SubProcessor(
            "Stripe",
            _("Reward payouts to customers' Stripe accounts"),
            _("Stripe account id, amounts; the customer gives Stripe their own details"),
            "STRIPE_SECRET_KEY",
            bool(settings.STRIPE_SECRET_KEY),
            _host(settings.STRIPE_API_BASE)
            or ("api.stripe.com" if settings.STRIPE_SECRET_KEY else ""),
        ),
        SubProcessor(
            _("SMS gateway"),
            _("Reward and data request links by text message"),
            _("Mobile number, message text"),
            "SMS_GATEWAY_URL",
            bool(settings.SMS_GATEWAY_URL),
            _host(settings.SMS_GATEWAY_URL),
        ),
        SubProcessor(
            _("E-mail provider (SMTP)"),
            _("Reward and data request links, reports and alerts by e-mail"),
            _("E-mail address, message text"),
            "EMAIL_URL",
            smtp,
            settings.EMAIL_HOST if smtp else "",
        ),
        SubProcessor(
            "Slack",
            _("On-call pages to the support team"),
            _("Ticket titles; no customer contact data"),
            "SLACK_WEBHOOK_URL",
            bool(settings.SLACK_WEBHOOK_URL),
            _host(settings.SLACK_WEBHOOK_URL),
        ),
    ]


def _facts(business=None, *, configured: bool) -> dict:
    return {
        "fields": personal_data_fields(),
        "retention": retention_periods(),
        "retention_days": settings.RETENTION_DAYS,
        "sub_processors": sub_processors(),
        "configured": configured,
        "business": business,
        "bookkeeping_years": BOOKKEEPING_YEARS,
    }


def paper_markdown(paper: str, language: str, *, business=None, configured: bool = False) -> str:
    """One paper as Markdown; with ``configured``, which services this installation uses."""
    if paper not in PAPERS or language not in LANGUAGES:
        raise ValueError(f"There is no paper {paper!r} in {language!r}.")
    with translation.override(language):
        text = render_to_string(
            f"privacy/papers/{paper}.{language}.md", _facts(business, configured=configured)
        )
    return text.strip() + "\n"


def paper_path(paper: str, language: str) -> Path:
    return DOCS_DIR / f"{paper}.{language}.md"


def papers_write(*, check: bool = False) -> list[Path]:
    """Write every paper to docs/privacy/; the ones that were out of date (all when writing)."""
    stale = []
    for paper in PAPERS:
        for language in LANGUAGES:
            path, text = paper_path(paper, language), paper_markdown(paper, language)
            if not path.exists() or path.read_text() != text:
                stale.append(path)
                if not check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
    return stale


def paper_pdf(paper: str, language: str, *, business) -> bytes:
    """The paper for one business, as the admin offers it."""
    body = markdown.markdown(
        paper_markdown(paper, language, business=business, configured=True),
        extensions=["tables"],
    )
    html = render_to_string("privacy/papers/print.html", {"body": body, "language": language})
    return html_to_pdf(html)
