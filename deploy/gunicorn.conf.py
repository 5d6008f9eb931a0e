"""gunicorn for Pilot Ops: ``gunicorn --config deploy/gunicorn.conf.py config.wsgi``.

Tuned by environment variables, like the rest of Pilot Ops:

* ``WEB_CONCURRENCY`` worker processes (default 4), ``PORT`` (8000);
* ``GUNICORN_TIMEOUT`` seconds a worker may stay silent before it is
  replaced (default 60: streamed exports and PDFs take a while);
* ``FORWARDED_ALLOW_IPS`` the proxies whose X-Forwarded-* headers are
  believed (default 127.0.0.1; in containers, the load balancer's network);
* ``PROMETHEUS_MULTIPROC_DIR`` where workers keep their Prometheus counters,
  emptied when gunicorn starts, so /metrics from any worker gives the totals.

A worker restarts after ``max_requests`` (with jitter, so they do not all
restart at once), which bounds any slow leak; on SIGTERM workers finish the
requests they hold for up to ``graceful_timeout`` seconds.
"""

import os
import shutil
from pathlib import Path

bind = f"{os.environ.get('GUNICORN_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - containers listen on every interface
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips
# The workers' heartbeat files: memory, not a container's overlay disk.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
errorlog = "-"
# Signals run gunicorn here; no control socket shared by every gunicorn of the host.
control_socket_disable = True
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

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
