"""Start real Celery worker and beat processes against the test database."""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

from django.db import connection

from tests.conftest import PROJECT_DIR


def worker_database_url() -> str:
    """A DATABASE_URL that opens the database this test session is using."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def celery_process(*args: str) -> Iterator[subprocess.Popen]:
    """Run ``celery --app config <args>`` on the test database until the block ends."""
    env = {**os.environ, "DATABASE_URL": worker_database_url()}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "config", *args],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen, *, timeout: float = 20) -> None:
    """SIGTERM, and SIGKILL if it has not stopped within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def private_queue() -> str:
    """A queue no other worker on this machine listens to."""
    return f"tests-{uuid.uuid4().hex[:12]}"


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, process=None):
    """Poll ``condition`` until it returns something truthy; fail with the process output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.25)
    output = ""
    if process is not None:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    raise AssertionError(f"timed out waiting for {what}\n{output}")


@contextlib.contextmanager
def tasks_routed(*task_names: str) -> Iterator[str]:
    """Route ``task_names`` to a private queue (as Pilot Ops' own sends do), then empty it."""
    from config.celery_app import app

    queue = private_queue()
    original = app.conf.task_routes

    def apply(routes) -> None:
        app.conf.task_routes = routes
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)  # the router is cached with the old routes

    apply({name: {"queue": queue} for name in task_names})
    try:
        yield queue
    finally:
        apply(original)
        with app.connection_for_write() as broker:
            broker.default_channel.queue_purge(queue)
