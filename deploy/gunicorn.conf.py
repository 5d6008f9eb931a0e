"""gunicorn for Pilot Ops: ``gunicorn --config deploy/gunicorn.conf.py config.wsgi``.

Logging, request limits and trusted proxies come from the project's settings
module, so gunicorn and Django agree on the log format and level, on the
redaction of contact data and link tokens, and on which proxies may say who
the client is. The process model is tuned by environment variables:

* ``WEB_CONCURRENCY`` worker processes (default 4), ``PORT`` (8000),
  ``GUNICORN_HOST`` (0.0.0.0 in containers; bind 127.0.0.1 behind a proxy on
  the same machine);
* ``GUNICORN_TIMEOUT`` seconds a worker may stay silent before it is
  replaced (default 60: streamed exports and PDFs take a while);
* ``PROMETHEUS_MULTIPROC_DIR`` where workers keep their Prometheus counters,
  emptied when gunicorn starts, so /metrics from any worker gives the totals.

A worker restarts after ``max_requests`` (with jitter, so they do not all
restart at once), which bounds any slow leak; on SIGTERM workers finish the
requests they hold for up to ``graceful_timeout`` seconds.
"""

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import settings
from core.logging import logging_config

# ------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------
bind = f"{os.environ.get('GUNICORN_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - containers listen on every interface
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# The workers' heartbeat files: memory, not a container's overlay disk.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# Signals run gunicorn here; no control socket shared by every gunicorn of the host.
control_socket_disable = True

# ------------------------------------------------------------------------------
# Logging: the same handler and filters as every other Pilot Ops process
# ------------------------------------------------------------------------------
logconfig_dict = logging_config(level=settings.LOG_LEVEL, log_format=settings.LOG_FORMAT)
# Method, path without its query string (receipts and claim links stay out),
# status, bytes, duration and the request id; no client address, referrer or agent.
access_log_format = "%(m)s %(U)s %(s)s %(B)s %(M)sms %({x-request-id}o)s"
accesslog = "-"
errorlog = "-"

# ------------------------------------------------------------------------------
# Request limits: refused by gunicorn before Django sees the request
# ------------------------------------------------------------------------------
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# X-Forwarded-* headers are believed only from our own proxies.
forwarded_allow_ips = ",".join(settings.TRUSTED_PROXY_NETWORKS) or "127.0.0.1,::1"
proxy_allow_ips = forwarded_allow_ips

# ------------------------------------------------------------------------------
# Prometheus multiprocess mode
# ------------------------------------------------------------------------------
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server) -> None:
    """Start with an empty metrics directory: counters of a previous run are not ours."""
    if PROMETHEUS_MULTIPROC_DIR:
        shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
        Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    """A worker that exits keeps its counters on /metrics; its live gauges go."""
    if PROMETHEUS_MULTIPROC_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
