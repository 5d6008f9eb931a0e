"""The production topology of deploy/run-local, started for the production suite.

What it starts, all on 127.0.0.1 and all its own:

* a scratch PostgreSQL database next to the one ``DATABASE_URL`` names
  (``<name>_topology``), dropped at the end;
* a Redis server on a free port (append-only, so a restart keeps the queue),
  which the drills stop and start;
* the Stripe fake and an SMTP sink as processes;
* ``deploy/run-local``: gunicorn with 4 workers, 2 Celery workers, 1 beat.

Tests see it only from outside: HTTP, the e-mails at the sink, the fake's
transfers, process ids and log files, and ``manage.py shell`` queries run
with the topology's own settings.
"""

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests

from tests.conftest import PROJECT_DIR, STRIPE_TEST_KEY
from tests.gunicorn_process import free_port

WEBHOOK_SECRET = "whsec_topology_" + secrets.token_hex(8)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Short enough to see in a few minutes what production sees in hours.
TIMINGS = {
    "CELERY_VISIBILITY_TIMEOUT_SECONDS": "15",
    "WORKER_HEARTBEAT_SECONDS": "5",
    "WORKER_HEARTBEAT_MAX_AGE_SECONDS": "20",
    "BEAT_HEARTBEAT_MAX_AGE_SECONDS": "75",
}


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _start(command: list[str], *, cwd=PROJECT_DIR, env=None, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen, *, timeout: float = 60) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _line_in(log: Path, pattern: str, timeout: float) -> re.Match:
    return wait_for(
        lambda: re.search(pattern, log.read_text()) if log.exists() else None,
        timeout=timeout,
        what=f"{pattern!r} in {log.name}",
    )


@dataclass
class RedisServer:
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = _start(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            log=self.folder / "redis.log",
        )
        wait_for(self.answers, timeout=20, what="Redis to answer")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def answers(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, check=False
        )
        return result.stdout.strip() == "PONG"


@dataclass
class Topology:
    folder: Path
    url: str
    env: dict[str, str]
    redis: RedisServer
    stripe_url: str
    maildir: Path
    database: str
    admin_dsn: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    run_local: subprocess.Popen | None = None

    # --- looking from outside --------------------------------------------------
    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=15, **kwargs)

    def answers_with(self, path: str) -> int | None:
        """The status code of a GET, or None while nothing listens."""
        try:
            return self.get(path).status_code
        except requests.ConnectionError:
            return None

    def status(self) -> dict:
        answer = self.get("/health/status/", headers=self.bearer)
        assert answer.status_code == 200, answer.text
        return answer.json()

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets['METRICS_TOKEN']}"}

    @property
    def secrets(self) -> dict[str, str]:
        lines = (self.folder / "var" / "secrets.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if line)

    def query(self, code: str) -> object:
        """Run ``code`` (which sets ``result``) in a fresh Django with the topology's settings."""
        script = f"import json\n{code}\nprint('RESULT=' + json.dumps(result, default=str))"
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        found = re.search(r"^RESULT=(.*)$", done.stdout, re.MULTILINE)
        assert found, f"query failed:\n{done.stdout}\n{done.stderr}"
        return json.loads(found.group(1))

    def mails(self) -> list:
        return [
            message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(self.maildir.glob("*.eml"))
        ]

    def mails_to(self, address: str) -> list:
        return [mail for mail in self.mails() if address in str(mail["To"])]

    def transfers(self) -> list[dict]:
        return requests.get(f"{self.stripe_url}/_fake/transfers", timeout=10).json()["data"]

    def pid(self, name: str) -> int:
        return int((self.folder / "var" / "run" / f"{name}.pid").read_text())

    def log(self, name: str) -> Path:
        return self.folder / "var" / "log" / f"{name}.log"

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a whole process (group) of the topology: a worker with its pool, beat, web."""
        os.killpg(self.pid(name), sig)

    def job_enqueue(self, job: str) -> int:
        """Queue one run of a periodic job, as the admin's "run it now" button does; its id."""
        return self.query(
            f"from core.maintenance import job_enqueue\nresult = job_enqueue({job!r}).pk"
        )

    def run_outcome(self, run_id: int) -> str:
        return self.query(
            "from core.models import MaintenanceRun\n"
            f"result = MaintenanceRun.objects.get(pk={run_id}).outcome"
        )

    def run_job_now(self, job: str, *, timeout: float, what: str) -> int:
        """Queue one run of ``job`` and wait until a worker finished it successfully."""
        run_id = self.job_enqueue(job)
        wait_for(lambda: self.run_outcome(run_id) == "ok", timeout=timeout, what=what, every=1)
        return run_id

    def task_of_run(self, run_id: int) -> tuple[str, str] | None:
        """(worker, task id) of the worker that received the queued run's task, if one did."""
        received = re.compile(
            r"maintenance_queued\[([0-9a-f-]+)\] received.*?\"args\": \"[\[(]"
            + str(run_id)
            + r",?[\])]\""
        )
        for worker in ("worker1", "worker2"):
            found = received.search(self.log(worker).read_text())
            if found:
                return worker, found.group(1)
        return None

    def terminate_database_connections(self) -> int:
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            ).fetchall()
        return len(rows)


def _database_settings() -> tuple[str, str]:
    """(admin DSN, scratch database name) next to the database DATABASE_URL names."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise AssertionError(
            "The production suite needs PostgreSQL: set DATABASE_URL=postgres://… "
            "(and it starts its own Redis server)."
        )
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "pilotops"
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    return admin, f"{name}_topology"


@contextlib.contextmanager
def production_topology(
    *, app: str = "config.wsgi", extra_env: dict[str, str] | None = None
) -> Iterator[Topology]:
    """Start it all; ``app`` and ``extra_env`` let a benchmark serve its yardstick views too."""
    admin_dsn, database = _database_settings()
    folder = Path(tempfile.mkdtemp(prefix="pilotops-topology-"))
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    redis = RedisServer(port=free_port(), folder=folder)
    (folder / "var").mkdir()
    maildir = folder / "mail"
    started: list[subprocess.Popen] = []
    topology = None
    try:
        redis.start()
        stripe = _start(
            [sys.executable, "-m", "tests.stripe_fake_process", "--webhook-secret", WEBHOOK_SECRET],
            log=folder / "stripe.log",
        )
        started.append(stripe)
        stripe_url = _line_in(folder / "stripe.log", r"listening on (http://\S+)", 30).group(1)
        smtp_port = free_port()
        sink = _start(
            [
                sys.executable,
                "-m",
                "tests.smtp_sink",
                "--port",
                str(smtp_port),
                "--maildir",
                str(maildir),
            ],
            log=folder / "smtp.log",
        )
        started.append(sink)
        _line_in(folder / "smtp.log", r"listening on", 30)

        port = free_port()
        database_url = urlsplit(admin_dsn)._replace(scheme="postgres", path=f"/{database}")
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR")
        }
        env.update(
            {
                "DATABASE_URL": database_url.geturl(),
                "CELERY_BROKER_URL": f"{redis.url}/0",
                "CACHE_URL": f"{redis.url}/1",
                "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
                "STRIPE_SECRET_KEY": STRIPE_TEST_KEY,
                "STRIPE_API_BASE": stripe_url,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "STRIPE_TIMEOUT_SECONDS": "20",
                "LOG_LEVEL": "INFO",
                **TIMINGS,
                **(extra_env or {}),
            }
        )
        run_local = _start(
            [
                sys.executable,
                "deploy/run-local",
                "--port",
                str(port),
                "--var-dir",
                str(folder / "var"),
                "--app",
                app,
                "--quiet",
            ],
            env=env,
            log=folder / "run-local.log",
        )
        # What `manage.py shell` queries need to see the same installation.
        query_env = {
            **env,
            "PILOTOPS_MODE": "production",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "LOG_LEVEL": "WARNING",
        }
        topology = Topology(
            folder=folder,
            url=f"http://127.0.0.1:{port}",
            env=query_env,
            redis=redis,
            stripe_url=stripe_url,
            maildir=maildir,
            database=database,
            admin_dsn=admin_dsn,
            processes=started,
            run_local=run_local,
        )
        _line_in(folder / "run-local.log", r"run-local: Pilot Ops", 180)
        query_env.update(topology.secrets)
        wait_for(
            lambda: topology.answers_with("/health/ready/") == 200,
            timeout=60,
            what="readiness",
        )
        wait_for(
            lambda: topology.status()["workers"]["alive"] == 2,
            timeout=60,
            what="both Celery workers' heartbeats",
        )
        yield topology
    finally:
        if topology is not None and topology.run_local is not None:
            _stop(topology.run_local, timeout=90)
        for process in started:
            _stop(process)
        redis.stop()
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
