"""gunicorn's configuration for Pilot Ops: ``gunicorn -c deploy/gunicorn.conf.py config.wsgi``.

Read from the project's settings module, so gunicorn and Django agree on the
log format and level, the redaction of contact data and link tokens, and
which proxies may say who the client is.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import settings
from core.logging import logging_config

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
