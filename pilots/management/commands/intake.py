"""Close or open feedback intake from a shell: the maintenance banner during a release."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from pilots.intake import intake_switch_set


class Command(BaseCommand):
    help = (
        "Close feedback intake everywhere with a message the public form shows (maintenance), "
        "or open it again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("state", choices=["close", "open"])
        parser.add_argument("--message", default="", help="Shown on the form while closed.")
        parser.add_argument(
            "--retry-after", type=int, default=15, help="Minutes customers are told to wait."
        )

    def handle(self, *args, state: str, message: str, retry_after: int, **options) -> None:
        try:
            switch = intake_switch_set(
                is_open=state == "open", message=message, retry_after_minutes=retry_after
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"Feedback intake is {'open' if switch.is_open else 'closed'}.")
