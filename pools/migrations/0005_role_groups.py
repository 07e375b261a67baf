"""The three roles, as groups: viewers read, editors create and change, administrators also
delete and sync. Users are put in them in the admin site."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    "view_ipam",
    "view_ipamscope",
    "view_ipampool",
    "view_ipampoolcidr",
    "view_ipampoolallocation",
]
EDIT = [*VIEW, "add_ipampool", "change_ipampool"]
ADMINISTER = [*EDIT, "delete_ipampool", "sync_ipam", "view_poolcreation"]
GROUPS = {
    "IPAM viewers": VIEW,
    "IPAM editors": EDIT,
    "IPAM administrators": ADMINISTER,
}


def create_groups(apps, schema_editor):
    # Permissions are made after the last migration; these groups need them now.
    config = apps.get_app_config("pools")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="pools", codename__in=codenames)
        )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("pools", "0004_sync_permission_failed_creations"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
