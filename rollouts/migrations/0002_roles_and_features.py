from django.db import migrations

from core.roles import roles_apply_in_migration

# The features the code checks at the time of this migration, stored as they
# behaved before flags existed: reward links by SMS were on for everyone, the
# second quality rubric is new and off.
FEATURES = (
    (
        "sms_reward_links",
        "Customers may leave a mobile number for the reward: the claim link goes by SMS. "
        "Off: the form asks for an e-mail address and refuses a phone number.",
        "on",
        100,
    ),
    (
        "quality_rubric_v2",
        "Feedback is scored by the second quality rubric (suggestions and comments that "
        "match their categories count; length counts less). The feedback records the "
        "version; the success report compares the two.",
        "off",
        0,
    ),
)


def features_store(apps, schema_editor) -> None:
    Flag = apps.get_model("rollouts", "Flag")
    for name, description, state, percentage in FEATURES:
        Flag.objects.get_or_create(
            name=name,
            defaults={"description": description, "state": state, "percentage": percentage},
        )


class Migration(migrations.Migration):
    """Staff groups' permissions on flags and rollouts (core.roles), and the declared features."""

    dependencies = [
        ("rollouts", "0001_flags_and_rollouts"),
        ("core", "0009_feature_request_counts"),
    ]

    operations = [
        migrations.RunPython(roles_apply_in_migration, migrations.RunPython.noop),
        migrations.RunPython(features_store, migrations.RunPython.noop),
    ]
