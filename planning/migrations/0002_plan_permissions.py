"""Plans in the three role groups: viewers read plans and the ledger; editors create and
change them; administrators too."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["view_plan", "view_plannode", "view_reservation"]
EDIT = [
    *VIEW,
    *(f"{verb}_{model}" for verb in ("add", "change", "delete") for model in ("plan", "plannode")),
    "add_reservation",
    "change_reservation",
    "delete_reservation",
]
GROUPS = {"IPAM viewers": VIEW, "IPAM editors": EDIT, "IPAM administrators": EDIT}


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for label in ("planning", "pools"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label__in=["planning", "pools"], codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label__in=["planning", "pools"], codename__in=EDIT
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0001_plans"),
        ("pools", "0009_reservation_ledger"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
