"""The two run modes, chosen only by environment variables."""

import json
import secrets

from tests.conftest import run_manage

PRODUCTION_ENV = {
    "PILOTOPS_MODE": "production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://pilotops@db.internal:5432/pilotops",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CACHE_URL": "redis://redis.internal:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.internal:587",
    "DJANGO_ALLOWED_HOSTS": "pilotops.example.se",
    "CSRF_TRUSTED_ORIGINS": "https://pilotops.example.se",
    "PUBLIC_BASE_URL": "https://pilotops.example.se/",
}

SHOW_SETTINGS = """
import json
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "debug": s.DEBUG,
    "engine": db["ENGINE"],
    "db_options": db.get("OPTIONS", {}),
    "conn_max_age": db.get("CONN_MAX_AGE"),
    "conn_health_checks": db.get("CONN_HEALTH_CHECKS"),
    "cache": s.CACHES["default"]["BACKEND"],
    "email": s.EMAIL_BACKEND,
    "broker": s.CELERY_BROKER_URL,
    "scheduler": s.CELERY_BEAT_SCHEDULER,
    "time_zone": s.TIME_ZONE,
    "use_tz": s.USE_TZ,
    "languages": [code for code, _ in s.LANGUAGES],
    "public_base_url": s.PUBLIC_BASE_URL,
    "secure_ssl_redirect": getattr(s, "SECURE_SSL_REDIRECT", False),
}))
"""


def show_settings(env: dict[str, str]) -> dict:
    result = run_manage("shell", "--no-imports", "-c", SHOW_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_embedded_defaults_need_no_variables(tmp_path):
    shown = show_settings({"PILOTOPS_VAR_DIR": str(tmp_path)})

    assert shown["debug"] is True
    assert shown["engine"] == "django_prometheus.db.backends.sqlite3"
    assert shown["db_options"]["transaction_mode"] == "IMMEDIATE"
    assert shown["cache"] == "core.cache.LocMemCache"
    assert shown["email"] == "core.email_gateway.MaskedConsoleEmailBackend"
    assert shown["broker"] == "filesystem://"
    assert shown["scheduler"] == "django_celery_beat.schedulers:DatabaseScheduler"
    assert shown["time_zone"] == "Europe/Stockholm"
    assert shown["use_tz"] is True
    assert shown["languages"] == ["sv", "en"]
    assert (tmp_path / "celery" / "queue").is_dir()


def test_settings_embedded_sqlite_runs_in_wal_mode(tmp_path):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    print(c.execute('PRAGMA journal_mode').fetchone()[0])",
        env={"PILOTOPS_VAR_DIR": str(tmp_path)},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "wal"
    assert (tmp_path / "pilotops.sqlite3").exists()


def test_settings_production_uses_services_and_persistent_connections():
    shown = show_settings(PRODUCTION_ENV)

    assert shown["debug"] is False
    assert shown["engine"] == "django_prometheus.db.backends.postgresql"
    assert shown["conn_max_age"] > 0
    assert shown["conn_health_checks"] is True
    assert shown["cache"] == "django_prometheus.cache.backends.redis.RedisCache"
    assert shown["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert shown["broker"] == "redis://redis.internal:6379/0"
    assert shown["public_base_url"] == "https://pilotops.example.se"
    assert shown["secure_ssl_redirect"] is True


def test_settings_production_check_deploy_reports_no_issues():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_production_without_secret_key_stops_with_one_line_naming_it():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = run_manage("check", env=env)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DJANGO_SECRET_KEY" in lines[0]


def test_settings_production_names_each_missing_service_variable():
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "PUBLIC_BASE_URL"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != name}

        result = run_manage("check", env=env)

        assert result.returncode == 1
        assert name in result.stderr.strip().splitlines()[-1]


def test_settings_production_refuses_debug():
    result = run_manage("check", env={**PRODUCTION_ENV, "DJANGO_DEBUG": "true"})

    assert result.returncode == 1
    assert "DJANGO_DEBUG" in result.stderr


def test_settings_every_variable_read_is_documented_in_env_example():
    import re

    from tests.conftest import PROJECT_DIR

    source = (PROJECT_DIR / "config" / "settings.py").read_text()
    read = set(re.findall(r'(?:env\.\w+|required_in_production)\(\s*"([A-Z][A-Z0-9_]+)"', source))
    documented = (PROJECT_DIR / ".env.example").read_text()

    assert read, "the pattern finds the variables settings.py reads"
    assert {name for name in read if name not in documented} == set()
