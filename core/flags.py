"""Feature flags: is a feature on for this business?

A flag has a rule: a state (off, canary, on), the business tags it targets
(its audience: businesses carrying any of them, or every business when it
targets none) and a rollout percentage. A check answers, in this order:

1. ``FEATURE_<NAME>=1|0`` in the environment (``settings.FEATURE_OVERRIDES``)
   wins over everything: the emergency path that needs no admin.
2. No rule stored for the name: the feature's declared default.
3. *off*: nobody. *on*: the whole audience. *canary*: the businesses of the
   audience whose bucket — a stable hash of flag name and business id, 0 to
   9,999 — is below the percentage. The same café stays in as the
   percentage grows, in every process and after every restart.

A business may also be *entitled* to a feature (its plan includes it, see
the billing app): then the feature is on for it whatever the rule says —
only the environment's override wins over an entitlement. Entitlements are
loaded like rules, by a loader the app that grants them registers.

Rules are stored by the rollouts app (it registers a loader here, so core
knows no app), read in one query, kept in the cache under a generation that
every change moves, and kept for the rest of a request in a request scope
(``flag_scope``, opened by ``FeatureFlagMiddleware``): the first check of a
request costs at most one cache round trip, every later one nothing.

The middleware also counts, per flag, the requests that checked it — on or
off for them — and those that failed (5xx): on /metrics, and in the
database (``FeatureRequestCount``, written per process at most every
FEATURE_COUNTS_FLUSH_SECONDS) for the rollout guards.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from core.metrics import FEATURE_REQUESTS
from core.models import FeatureRequestCount

logger = logging.getLogger(__name__)

OFF, CANARY, ON = "off", "canary", "on"
BUCKETS = 10_000
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"


# ------------------------------------------------------------------------------
# Features, tenants, rules
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Feature:
    """A piece of behaviour in the code that a flag turns on and off."""

    name: str
    description: str
    default: bool = False  # the answer while no flag is stored under this name

    @property
    def override_variable(self) -> str:
        return f"FEATURE_{self.name.upper()}"


DECLARED: dict[str, Feature] = {}


def feature_declare(name: str, description: str, *, default: bool = False) -> Feature:
    """Declare a feature the code checks; the admin lists every declared one."""
    declared = Feature(name=name, description=description, default=default)
    DECLARED[name] = declared
    return declared


@dataclass(frozen=True)
class Tenant:
    """Whom a check is for: a business, by id, with the names of its tags."""

    key: int
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FlagRule:
    name: str
    state: str
    tags: frozenset[str]
    percentage: int  # 0-100, used in the canary state


def bucket(name: str, key: int) -> int:
    """The business's place, 0 to BUCKETS - 1, in the flag's order: the same everywhere."""
    digest = hashlib.sha256(f"{name}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_audience(rule: FlagRule, tenant: Tenant) -> bool:
    return not rule.tags or bool(rule.tags & tenant.tags)


def rule_admits(rule: FlagRule, tenant: Tenant | None) -> bool:
    """Whether ``rule`` turns the feature on for ``tenant`` (None: no business in question)."""
    if rule.state == OFF:
        return False
    if tenant is None:
        return rule.state == ON and not rule.tags
    if not in_audience(rule, tenant):
        return False
    if rule.state == ON:
        return True
    return bucket(rule.name, tenant.key) < rule.percentage * BUCKETS // 100


def override(name: str) -> bool | None:
    """The environment's word on ``name``: True, False, or None when it says nothing."""
    return settings.FEATURE_OVERRIDES.get(name)


# ------------------------------------------------------------------------------
# Loading rules: the cache, a generation, the request scope
# ------------------------------------------------------------------------------
RulesLoader = Callable[[], dict[str, FlagRule]]
_loaders: list[RulesLoader] = []

RULES_KEY = "flags:rules"
GENERATION_KEY = "flags:generation"
ENTITLEMENTS_KEY = "flags:entitlements"

# Feature name -> the business ids entitled to it.
EntitlementsLoader = Callable[[], dict[str, frozenset[int]]]
_entitlement_loaders: list[EntitlementsLoader] = []


def entitlements_loader_register(loader: EntitlementsLoader) -> None:
    """Called once by the app that grants features (from its AppConfig.ready)."""
    if loader not in _entitlement_loaders:
        _entitlement_loaders.append(loader)


def _entitlements_read() -> dict[str, frozenset[int]]:
    cached = cache.get_many([ENTITLEMENTS_KEY, GENERATION_KEY])
    generation = cached.get(GENERATION_KEY, 0)
    entry = cached.get(ENTITLEMENTS_KEY)
    if entry is not None and entry[0] == generation:
        return entry[1]
    loaded: dict[str, frozenset[int]] = {}
    for loader in _entitlement_loaders:
        for name, keys in loader().items():
            loaded[name] = loaded.get(name, frozenset()) | frozenset(keys)
    cache.set(ENTITLEMENTS_KEY, (generation, loaded), timeout=settings.FLAGS_CACHE_SECONDS)
    return loaded


def rules_loader_register(loader: RulesLoader) -> None:
    """Called once by the app that stores flags (from its AppConfig.ready)."""
    if loader not in _loaders:
        _loaders.append(loader)


def _rules_read() -> dict[str, FlagRule]:
    cached = cache.get_many([RULES_KEY, GENERATION_KEY])
    generation = cached.get(GENERATION_KEY, 0)
    entry = cached.get(RULES_KEY)
    if entry is not None and entry[0] == generation:
        return entry[1]
    loaded: dict[str, FlagRule] = {}
    for loader in _loaders:
        loaded.update(loader())
    cache.set(RULES_KEY, (generation, loaded), timeout=settings.FLAGS_CACHE_SECONDS)
    return loaded


def rules_invalidate() -> None:
    """Make every cached rule stale; the services that change flags call it on commit."""
    if not cache.add(GENERATION_KEY, 1, timeout=None):
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # evicted between the two calls
            cache.add(GENERATION_KEY, 1, timeout=None)


@dataclass
class FlagScope:
    """What one request (or one job) has read and decided so far."""

    rules: dict[str, FlagRule] | None = None
    entitlements: dict[str, frozenset[int]] | None = None
    decisions: dict[tuple[str, int | None], bool] = field(default_factory=dict)
    touched: dict[str, bool] = field(default_factory=dict)  # flag: on for anyone asked


_scope: ContextVar[FlagScope | None] = ContextVar("flag_scope", default=None)


@contextmanager
def flag_scope() -> Iterator[FlagScope]:
    """Read the rules once and remember every decision until the block ends."""
    scope = FlagScope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def rules() -> dict[str, FlagRule]:
    scope = _scope.get()
    if scope is None:
        return _rules_read()
    if scope.rules is None:
        scope.rules = _rules_read()
    return scope.rules


def entitlements() -> dict[str, frozenset[int]]:
    scope = _scope.get()
    if scope is None:
        return _entitlements_read()
    if scope.entitlements is None:
        scope.entitlements = _entitlements_read()
    return scope.entitlements


def _decide(name: str, tenant: Tenant | None, default: bool) -> bool:
    forced = override(name)
    if forced is not None:
        return forced
    if tenant is not None and _entitlement_loaders and tenant.key in entitlements().get(name, ()):
        return True
    rule = rules().get(name)
    if rule is None:
        return default
    return rule_admits(rule, tenant)


def flag_is_on(feature: Feature | str, *, tenant: Tenant | None) -> bool:
    """Whether ``feature`` is on for ``tenant``; no query after the first check of a request."""
    if isinstance(feature, str):
        feature = DECLARED.get(feature) or Feature(name=feature, description="")
    scope = _scope.get()
    key = (feature.name, tenant.key if tenant else None)
    if scope is not None and key in scope.decisions:
        return scope.decisions[key]
    decision = _decide(feature.name, tenant, feature.default)
    if scope is not None:
        scope.decisions[key] = decision
        scope.touched[feature.name] = scope.touched.get(feature.name, False) or decision
    return decision


# ------------------------------------------------------------------------------
# Requests touching a flag
# ------------------------------------------------------------------------------
VARIANT_ON, VARIANT_OFF = "on", "off"


class RequestTally:
    """This process's counts of requests per flag, variant and minute, not yet written."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, datetime], list[int]] = {}
        self._written_at = time.monotonic()

    def add(self, touched: dict[str, bool], *, failed: bool, at: datetime) -> None:
        minute = at.replace(second=0, microsecond=0)
        with self._lock:
            for name, on in touched.items():
                variant = VARIANT_ON if on else VARIANT_OFF
                FEATURE_REQUESTS.labels(
                    feature=name, variant=variant, outcome="error" if failed else "ok"
                ).inc()
                counts = self._counts.setdefault((name, variant, minute), [0, 0])
                counts[0] += 1
                counts[1] += int(failed)

    def due(self) -> bool:
        return time.monotonic() - self._written_at >= settings.FEATURE_COUNTS_FLUSH_SECONDS

    def take(self) -> dict[tuple[str, str, datetime], list[int]]:
        with self._lock:
            taken, self._counts = self._counts, {}
            self._written_at = time.monotonic()
        return taken

    def give_back(self, counts: dict[tuple[str, str, datetime], list[int]]) -> None:
        with self._lock:
            for key, (requests, errors) in counts.items():
                mine = self._counts.setdefault(key, [0, 0])
                mine[0] += requests
                mine[1] += errors


tally = RequestTally()


def _count_add(name: str, variant: str, minute: datetime, requests: int, errors: int) -> None:
    rows = FeatureRequestCount.objects.filter(flag=name, variant=variant, minute=minute)
    if rows.update(requests=F("requests") + requests, errors=F("errors") + errors):
        return
    try:
        with transaction.atomic():
            FeatureRequestCount.objects.create(
                flag=name, variant=variant, minute=minute, requests=requests, errors=errors
            )
    except IntegrityError:  # another process made the row first
        rows.update(requests=F("requests") + requests, errors=F("errors") + errors)


def request_counts_write() -> int:
    """Write this process's counts to the database; the rows written."""
    counts = tally.take()
    if not counts:
        return 0
    try:
        with transaction.atomic():
            for (name, variant, minute), (requests, errors) in counts.items():
                _count_add(name, variant, minute, requests, errors)
    except DatabaseError:
        logger.warning("feature request counts not written; kept for the next try")
        tally.give_back(counts)
        return 0
    return len(counts)


def requests_counted(scope: FlagScope, *, failed: bool) -> None:
    """Count one finished request for every flag it checked."""
    if not scope.touched:
        return
    tally.add(scope.touched, failed=failed, at=timezone.now())
    if tally.due():
        request_counts_write()


@dataclass(frozen=True)
class RequestFigures:
    requests: int = 0
    errors: int = 0

    @property
    def error_rate(self) -> float | None:
        return 100 * self.errors / self.requests if self.requests else None


def request_figures(name: str, *, since: datetime, until: datetime) -> dict[str, RequestFigures]:
    """Requests that checked ``name`` in [since, until), per variant (on, off)."""
    rows = (
        FeatureRequestCount.objects.filter(flag=name, minute__gte=since, minute__lt=until)
        .values("variant")
        .annotate(requests=Sum("requests"), errors=Sum("errors"))
        .order_by()
    )
    figures = {VARIANT_ON: RequestFigures(), VARIANT_OFF: RequestFigures()}
    for row in rows:
        figures[row["variant"]] = RequestFigures(row["requests"] or 0, row["errors"] or 0)
    return figures


def request_counts_purge(*, older_than: datetime) -> int:
    return FeatureRequestCount.objects.filter(minute__lt=older_than).delete()[0]


class FeatureFlagMiddleware:
    """Open a flag scope for each request and count the flags it checked, by outcome."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with flag_scope() as scope:
            response = self.get_response(request)
        requests_counted(scope, failed=response.status_code >= 500)
        return response
