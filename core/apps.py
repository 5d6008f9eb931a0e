from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


def third_party_names_translated() -> None:
    """Names the admin shows for outside apps that do not mark them for translation.

    django-otp's apps and models and django-axes' app name are plain strings;
    lazy ones let the back office show them in the staff member's language.
    """
    names = {
        "otp_totp": (
            _("Authenticator apps"),
            {"totpdevice": (_("TOTP device"), _("TOTP devices"))},
        ),
        "otp_static": (
            _("Backup codes"),
            {
                "staticdevice": (_("backup code set"), _("backup code sets")),
                "statictoken": (_("backup code"), _("backup codes")),
            },
        ),
        "axes": (_("Sign-in lockouts"), {}),
    }
    for label, (app_name, models) in names.items():
        if not apps.is_installed(f"django_otp.plugins.{label}") and label != "axes":
            continue
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        config.verbose_name = app_name
        for model_name, (singular, plural) in models.items():
            meta = config.get_model(model_name)._meta
            meta.verbose_name, meta.verbose_name_plural = singular, plural


class CoreConfig(AppConfig):
    """What every part shares: the base model, roles, health, logging, heartbeat."""

    name = "core"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django.utils.module_loading import autodiscover_modules

        from core import metrics
        from core.schedule import beat_schedule_sync_after_migrate

        autodiscover_modules("jobs")  # each app's periodic jobs, as the admin finds admin.py
        metrics.register()
        post_migrate.connect(beat_schedule_sync_after_migrate, sender=self)
        third_party_names_translated()
