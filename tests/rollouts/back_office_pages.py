"""The rollouts back office pages for the Swedish page check: a running rollout the demo lacks."""

from rollouts import services
from rollouts.models import Flag, Rollout

PAGES: list[str] = []  # the emergency page is one of the flag admin's own


def make_rows() -> None:
    """A running rollout on the first flag, so its page and the flag's show stages and guards."""
    flag = Flag.objects.order_by("pk").first()
    if flag is None:
        flag = services.flag_create(name="sms_reward_links")
    if not Rollout.objects.exists():
        services.rollout_start(
            flag=flag,
            stages=[
                {"percentage": 10, "soak_minutes": 60},
                {"percentage": 100, "soak_minutes": 240},
            ],
        )
