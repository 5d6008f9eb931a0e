"""A payout process for the chaos suite: ``python -m tests.payout_runner <mode> <stop-file>``.

``run`` runs the payout run again and again (as beat does, only faster);
``recover`` only settles what is unsettled, bypassing the run's lease, as
two people pressing *Ask Stripe now* at once would. Both stop when the stop
file appears; the test kills them with SIGKILL when it wants them dead.
"""

import os
import sys
import time


def main() -> None:
    mode, stop_file = sys.argv[1], sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from pilots import payouts
    from pilots.models import Payout

    while not os.path.exists(stop_file):
        if mode == "run":
            # Another runner holding the lease: wait a little, as beat would (and more).
            if payouts.payouts_run().skipped:
                time.sleep(0.5)
        else:
            payouts.payouts_abandoned_settle()
            unsettled = Payout.objects.filter(
                status__in=[Payout.Status.UNKNOWN, Payout.Status.NEEDS_ATTENTION]
            )
            for payout_id in unsettled.values_list("pk", flat=True):
                payouts.payout_settle(payout_id=payout_id)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
