"""The group permissions (issue 20) on the built-in roles: ``groups:read`` and
``groups:write`` for ``superadmin`` and ``console-admin``, ``groups:read`` for ``auditor`` and
``security-admin`` (they hold every ``*:read``). Names frozen here as they were when this ran."""

from django.db import migrations

GRANTS = {
    "superadmin": ["groups:read", "groups:write"],
    "console-admin": ["groups:read", "groups:write"],
    "auditor": ["groups:read"],
    "security-admin": ["groups:read"],
}


def grant(apps, schema_editor):
    Role = apps.get_model("roles", "Role")
    Permission = apps.get_model("roles", "Permission")
    for role in Role.objects.filter(name__in=GRANTS, builtin=True):
        for value in GRANTS[role.name]:
            Permission.objects.get_or_create(role=role, value=value)


def revoke(apps, schema_editor):
    Permission = apps.get_model("roles", "Permission")
    for name, values in GRANTS.items():
        Permission.objects.filter(role__name=name, role__builtin=True, value__in=values).delete()


class Migration(migrations.Migration):
    dependencies = [("roles", "0004_groups")]

    operations = [migrations.RunPython(grant, revoke)]
