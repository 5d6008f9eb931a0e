"""The synthetic probe: the runbooks' "full endpoint test", every 5 minutes.

A worker drives the public form of a reserved code through the real HTTP
stack (``PROBE_BASE_URL``: the load balancer, gunicorn, Django, the
database): it loads the form, sends a submission with its CSRF token and
follows the redirect to the thanks page. Each journey leaves a ``ProbeRun``
(outcome, latency), which /metrics exports as ``pilotops_probe_success`` and
``pilotops_probe_latency_seconds`` and the weekly report turns into an
uptime percentage.

The reserved code belongs to a business marked ``is_probe`` that is never
enrolled in a pilot; its submissions are marked synthetic by the submission
service and the KPI selectors leave them out, so they never count in KPIs,
rewards or trial limits.
"""

import re
import time
from datetime import datetime

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pilots.models import Business, ProbeRun, QRCode
from pilots.services import qr_codes_generate

PROBE_BUSINESS_SLUG = "pilotops-probe"
PROBE_PLACEMENT = "Synthetic probe"
PROBE_COMMENT = "Synthetic probe: checks that the feedback form answers end to end."
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@transaction.atomic
def probe_code_ensure() -> QRCode:
    """The reserved probe code, made on first use (its business is never enrolled)."""
    business, _ = Business.objects.get_or_create(
        slug=PROBE_BUSINESS_SLUG,
        defaults={
            "name": "Pilot Ops probe",
            "city": "-",
            "expected_daily_customers": 1,
            "status": Business.Status.ACTIVE,
            "context": "Reserved for the synthetic probe; its feedback counts nowhere.",
            "is_probe": True,
        },
    )
    code = business.qr_codes.filter(status=QRCode.Status.ACTIVE).first()
    if code is None:
        (code,) = qr_codes_generate(business=business, placements=[PROBE_PLACEMENT])
    return code


def _journey(url: str) -> tuple[bool, int | None, str]:
    """GET the form, POST a submission, land on the thanks page: (ok, status, detail)."""
    with requests.Session() as session:
        form = session.get(url, timeout=settings.PROBE_TIMEOUT_SECONDS)
        if form.status_code != 200:
            return False, form.status_code, "the form did not open"
        token = CSRF_FIELD.search(form.text)
        if token is None:
            return False, form.status_code, "the form has no CSRF token"
        answer = session.post(
            url,
            data={
                "csrfmiddlewaretoken": token.group(1),
                "rating": "5",
                "categories": "service",
                "comment": PROBE_COMMENT,
                "website": "",
            },
            headers={"Referer": url},
            timeout=settings.PROBE_TIMEOUT_SECONDS,
        )
        if answer.status_code != 200 or "/thanks/" not in answer.url:
            return False, answer.status_code, "the submission did not reach the thanks page"
        return True, answer.status_code, ""


def probe_run(*, now: datetime | None = None) -> ProbeRun:
    """Drive one synthetic journey and record how it went (a failure is a result, not an error)."""
    code = probe_code_ensure()
    url = f"{settings.PROBE_BASE_URL}/q/{code.token}/"
    started_at = now or timezone.now()
    started = time.perf_counter()
    try:
        ok, status_code, detail = _journey(url)
    except requests.RequestException as error:
        ok, status_code, detail = False, None, f"no answer: {type(error).__name__}"
    latency_ms = round((time.perf_counter() - started) * 1000)
    run = ProbeRun(
        started_at=started_at,
        ok=ok,
        latency_ms=latency_ms,
        status_code=status_code,
        detail=detail,
    )
    run.full_clean()
    run.save()
    return run
