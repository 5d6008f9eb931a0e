"""What the local servers the production suite runs as processes share."""

import signal
import threading


def until_stopped() -> None:
    """Block until SIGTERM or SIGINT: how a server process is told to stop."""
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
