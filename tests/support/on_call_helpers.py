"""People on call, a frozen clock and the minute-by-minute beat, for the on-call tests."""

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group, User
from django.utils import timezone

from core import (
    jobs,  # noqa: F401 - registers the jobs
)
from core.maintenance import run_job
from core.outbox import messages_deliver_due
from support.models import Responder, Rotation

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ACK_PATH = re.compile(r"/ack/[^/\s|>]+/")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


@dataclass
class OnCallTeam:
    anna: User  # primary in the week of Monday 16 November 2026
    bo: User  # secondary that week, primary the next
    lena: User  # a Support lead
    rotation: Rotation

    def mobile(self, person: User) -> str:
        return person.responder.mobile

    def member_id(self, person: User) -> str:
        return person.responder.slack_member_id


def person_make(username: str, mobile: str, member_id: str, *groups: str) -> User:
    user = User.objects.create_user(
        username, email=f"{username}@pilotops.example", is_staff=True, password="not-used"
    )
    Responder.objects.create(user=user, mobile=mobile, slack_member_id=member_id)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def beat(clock, text: str) -> None:
    """What beat does at ``text``: the SLA sweep, the escalations, the outbox."""
    clock(text)
    now = timezone.now()
    run_job("sla_sweep", now=now)
    run_job("escalations", now=now)
    messages_deliver_due(now=now)


def sms_to(sms_fake) -> list[str]:
    return [text["to"] for text in sms_fake.sent()]


def slack_mentions(slack_fake) -> list[str]:
    return [re.match(r"<@(\w+)>", post["text"]).group(1) for post in slack_fake.posted()]


def ack_path(text: str) -> str:
    return ACK_PATH.search(text).group(0)
