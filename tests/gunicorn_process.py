"""Run the project under gunicorn with deploy/gunicorn.conf.py, on the test database."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.celery_processes import stop, worker_database_url
from tests.conftest import PROJECT_DIR


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, *, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {process.communicate()[0]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own server
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer on {url}")


@contextlib.contextmanager
def gunicorn(*, workers: int, multiproc_dir: Path, env: dict | None = None) -> Iterator[str]:
    """gunicorn with ``workers`` processes; yields its base URL."""
    port = free_port()
    process_env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_HOST": "127.0.0.1",
        "PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    process_env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "config.wsgi"],
        cwd=PROJECT_DIR,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/health/ready/", timeout=60, process=process)
        yield url
    finally:
        stop(process, timeout=30)
