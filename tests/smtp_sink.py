"""A local SMTP server that keeps every message it accepts as a file, for the production suite.

    python -m tests.smtp_sink --port 21525 --maildir /tmp/mail

Each accepted message becomes ``<n>.eml`` in the maildir, written only once
the whole message has arrived, so a file present is a message delivered.
It prints ``listening on 127.0.0.1:<port>`` once it serves.
"""

import argparse
import itertools
import os
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.serving import until_stopped


class Maildir:
    def __init__(self, folder: Path):
        self.folder = folder
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope) -> str:
        path = self.folder / f"{next(self.numbers):06d}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(envelope.original_content or envelope.content)
        os.replace(partial, path)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()
    args.maildir.mkdir(parents=True, exist_ok=True)
    controller = Controller(Maildir(args.maildir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    until_stopped()
    controller.stop()


if __name__ == "__main__":
    main()
