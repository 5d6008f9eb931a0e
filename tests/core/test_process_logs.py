"""No contact data or link token in any line that gunicorn or a Celery worker prints.

gunicorn runs with ``deploy/gunicorn.conf.py`` (its error and access logs
through the project's redaction filter) and a worker takes a job that
e-mails a report; the public flows are driven over HTTP with known contacts
and tokens, then every captured line of both processes is searched for them.
"""

import http.client
import os
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group

from config.celery_app import app as celery_app
from core import roles
from core.maintenance import job_enqueue
from core.models import MaintenanceRun
from pilots.models import Feedback, Payment
from support.models import Ticket
from support.services import staff_link_issue
from tests.celery_processes import celery_process, wait_for, worker_database_url
from tests.conftest import PROJECT_DIR, SPECIFIC_COMMENT, claim_path_of

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

EMAIL = "vera.process@example.se"
PHONE = "070-555 12 34"
MANAGER_EMAIL = "manager.process@pilotops.example"
GUNICORN_ARGUMENTS = ("-c", "deploy/gunicorn.conf.py", "--bind", "127.0.0.1:0")
GUNICORN_ARGUMENTS += ("--workers", "1", "config.wsgi")


class Gunicorn:
    """gunicorn on a free port with the project's configuration; every line it prints is kept."""

    def __init__(self):
        env = {**os.environ, "DATABASE_URL": worker_database_url(), "LOG_LEVEL": "INFO"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *GUNICORN_ARGUMENTS],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        listening = wait_for(self._port, timeout=60, what="gunicorn to listen")
        self.port = int(listening)

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def _port(self):
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", "".join(self.lines))
        return found and found.group(1)

    def request(self, method, path, *, body="", headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        connection.close()
        return response, content

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=30)
        time.sleep(0.2)
        return "".join(self.lines)


def form_submit(server: Gunicorn, path: str, fields: dict) -> http.client.HTTPResponse:
    """GET the page for its CSRF cookie and token, then POST the form like a browser."""
    response, page = server.request("GET", path)
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "").group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    posted, _ = server.request(
        "POST",
        path,
        body=urlencode({"csrfmiddlewaretoken": token, **fields}, doseq=True),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Referer": f"http://127.0.0.1:{server.port}{path}",
        },
    )
    return posted


def test_gunicorn_and_worker_print_no_contact_or_token(open_code, django_user_model):
    manager = django_user_model.objects.create_user(
        username="manager", email=MANAGER_EMAIL, is_staff=True
    )
    manager.groups.add(Group.objects.get(name=roles.PILOT_MANAGERS))
    staff_link = staff_link_issue(business=open_code.business)
    # The worker listens on the shared default queue: what earlier tests left
    # there (deliveries of their messages) is not this test's to run.
    celery_app.control.purge()
    server = Gunicorn()
    try:
        with celery_process(
            "worker", "--pool", "solo", "--loglevel", "INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat",
        ) as worker:  # fmt: skip
            submitted = form_submit(
                server,
                f"/q/{open_code.token}/",
                {"rating": "5", "categories": "service", "comment": SPECIFIC_COMMENT,
                 "contact": EMAIL, "consent": "on"},
            )  # fmt: skip
            thanks = submitted.getheader("Location")
            server.request("GET", thanks)
            claim = claim_path_of(Payment.objects.get().recipient).split("/")[3]
            server.request("GET", f"/rewards/claim/{claim}/")
            server.request("GET", f"/rewards/claimed/{claim}/")
            reported = form_submit(
                server,
                f"/staff/{staff_link.token}/",
                {"category": "reward", "description": f"Call {PHONE}", "reporter": PHONE},
            )
            server.request(
                "POST",
                f"/q/{open_code.token}/",
                body=f"contact={EMAIL}",
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=latin-1"},
            )
            run = job_enqueue("daily_report")
            wait_for(
                lambda: MaintenanceRun.objects.filter(
                    pk=run.pk, outcome=MaintenanceRun.Outcome.OK
                ).exists(),
                timeout=90,
                what="the worker to send the daily report",
                process=worker,
            )
            worker.terminate()
            worker_output = worker.communicate(timeout=30)[0]
    finally:
        web_output = server.stop()

    assert submitted.status == 302
    assert reported.status == 302
    assert Feedback.objects.get().contact_email == EMAIL
    assert Ticket.objects.get().reporter_name == PHONE
    assert re.search(r"POST /q/\[token\]/ 302", web_output), web_output
    assert "POST /staff/[token]/ 302" in web_output
    assert "daily_report" in worker_output
    assert ": sent'" in worker_output  # the report e-mail went out through the outbox
    secrets = [
        EMAIL,
        PHONE,
        MANAGER_EMAIL,
        open_code.token,
        staff_link.token,
        claim,
        thanks.split("r=")[1].split("&")[0],
    ]
    for output in (web_output, worker_output):
        assert [secret for secret in secrets if secret in output] == []
