"""Mail servers for the outbox tests: a real SMTP server, and two that misbehave.

* ``smtp_server`` — aiosmtpd, recording what it accepts; it can refuse
  recipients with a given reply (``550 …`` for good, ``450 …`` for now);
* ``silent_server`` — accepts connections and never says a word;
* ``dropping_server`` — takes a whole message, then hangs up instead of
  answering: the sender cannot know whether it was accepted.
"""

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)
    refuse_recipients_with: str = ""


class RecordingHandler:
    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mailbox.refuse_recipients_with:
            return self.mailbox.refuse_recipients_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mailbox.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = port or free_port()
    controller = Controller(RecordingHandler(mailbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


@contextlib.contextmanager
def _raw_server(serve) -> Iterator[tuple[int, list[bytes]]]:
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(connection)
            threading.Thread(target=serve, args=(connection, received, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], received
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.close()


def _silent(connection: socket.socket, received: list[bytes], stop: threading.Event) -> None:
    stop.wait(30)


def _dropping(connection: socket.socket, received: list[bytes], stop: threading.Event) -> None:
    """Speak SMTP up to the end of DATA, keep the message, then hang up unanswered."""
    reader = connection.makefile("rb")
    connection.sendall(b"220 mail.example ESMTP\r\n")
    in_data, lines = False, []
    for line in reader:
        if in_data:
            if line == b".\r\n":
                received.append(b"".join(lines))
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
                return
            lines.append(line)
            continue
        command = line[:4].upper()
        if command in (b"EHLO", b"HELO"):
            connection.sendall(b"250 mail.example\r\n")
        elif command == b"DATA":
            in_data = True
            connection.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif command == b"QUIT":
            connection.sendall(b"221 Bye\r\n")
            return
        else:
            connection.sendall(b"250 OK\r\n")


def silent_server():
    return _raw_server(_silent)


def dropping_server():
    return _raw_server(_dropping)
