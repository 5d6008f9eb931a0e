"""``pilotops_feature_enabled{feature}`` on /metrics: how far each flag is on.

0 when off, the canary percentage as a share (0.1 at 10 %), 1 when on; an
environment override reads 0 or 1. Read from the cached rules at scrape time,
so a rollout's stages show on a dashboard beside the per-flag request counters
(``pilotops_feature_requests_total``).
"""

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from core import flags


def feature_share(name: str, rule: flags.FlagRule | None, default: bool) -> float:
    forced = flags.override(name)
    if forced is not None:
        return 1.0 if forced else 0.0
    if rule is None:
        return 1.0 if default else 0.0
    if rule.state == flags.OFF:
        return 0.0
    if rule.state == flags.ON:
        return 1.0
    return rule.percentage / 100


class FeatureGauges:
    def describe(self):
        return []  # the database may not be there at registration

    def collect(self):
        family = GaugeMetricFamily(
            "pilotops_feature_enabled",
            "How far each feature is on: 0 off, the canary share (0.1 at 10 %), 1 on.",
            labels=["feature"],
        )
        try:
            rules = flags.rules()
        except Exception:  # noqa: BLE001 - the database being away must not break /metrics
            rules = {}
        for name in sorted(set(rules) | set(flags.DECLARED)):
            declared = flags.DECLARED.get(name)
            default = declared.default if declared else False
            family.add_metric([name], feature_share(name, rules.get(name), default))
        yield family


feature_gauges = FeatureGauges()


def register() -> None:
    if feature_gauges not in REGISTRY._collector_to_names:
        REGISTRY.register(feature_gauges)
