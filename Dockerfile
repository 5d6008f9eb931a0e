# Pilot Ops: one image for web (gunicorn), Celery workers and beat.
# deploy/compose.yaml runs it; CI checks this file with hadolint.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the virtualenv with every pinned dependency -----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- runtime: the virtualenv, the code, Pango for WeasyPrint, no root ----------
FROM ${PYTHON_IMAGE} AS runtime
# WeasyPrint (printed QR sheets, success reports) draws text with Pango.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0=1.50.12+ds-1 \
        libpangoft2-1.0-0=1.50.12+ds-1 \
        libharfbuzz-subset0=6.0.0+dfsg-3 \
        fonts-dejavu-core=2.37-6 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pilotops \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin pilotops

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PILOTOPS_MODE=production \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=pilotops:pilotops . /app

# Static files are collected into the image; WhiteNoise serves them. The
# values below exist only so production settings load for this one command.
RUN DJANGO_SECRET_KEY=collectstatic-only \
    DJANGO_ALLOWED_HOSTS=localhost \
    PUBLIC_BASE_URL=http://localhost \
    DATABASE_URL=postgres://collectstatic@localhost/collectstatic \
    CELERY_BROKER_URL=redis://localhost:6379/0 \
    CACHE_URL=redis://localhost:6379/1 \
    EMAIL_URL=consolemail:// \
    python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R pilotops:pilotops /app/staticfiles

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/', timeout=4)"]
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "config.wsgi"]
