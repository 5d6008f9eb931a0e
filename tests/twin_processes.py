"""Run the same code in several fresh Django processes that start it at the same instant."""

import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass

from tests.celery_processes import worker_database_url
from tests.conftest import PROJECT_DIR

BARRIER = """
import os, pathlib, time
def together(step):
    here = pathlib.Path({barrier!r}) / str(step)
    here.mkdir(exist_ok=True)
    (here / str(os.getpid())).touch()
    deadline = time.monotonic() + 120
    while len(list(here.iterdir())) < {count} and time.monotonic() < deadline:
        time.sleep(0.002)
together("start")
"""


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def twins_run(code: str, *, count: int = 2, env: dict[str, str] | None = None) -> list[Finished]:
    """Start ``count`` ``manage.py shell`` processes on the test database; each runs ``code``
    once all of them are up (a file barrier), so their work overlaps as much as it can.

    ``code`` may call ``together(step)`` to meet again before each step.
    """
    with tempfile.TemporaryDirectory() as barrier:
        script = BARRIER.format(barrier=barrier, count=count) + textwrap.dedent(code)
        process_env = {**os.environ, "DATABASE_URL": worker_database_url(), **(env or {})}
        process_env.pop("DJANGO_SETTINGS_MODULE", None)
        processes = [
            subprocess.Popen(
                [sys.executable, "manage.py", "shell", "-c", script],
                cwd=PROJECT_DIR,
                env=process_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        finished = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=300)
            finished.append(Finished(process.returncode, stdout, stderr))
    return finished
