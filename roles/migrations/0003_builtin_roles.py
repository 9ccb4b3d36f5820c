"""The built-in roles (issue 19): made here, marked ``builtin`` (not deletable, permissions
editable). The permission names are frozen here as they were when this ran (roles.access,
console.access); a later migration changes them, not an edit of this one."""

from django.db import migrations

CONSOLE = ["console:access"]
READ = ["audit:read", "clients:read", "roles:read", "security:read", "tokens:read", "users:read"]
WRITE = ["clients:write", "roles:write", "security:write", "tokens:write", "users:write"]
BUILTIN_ROLES = {
    "superadmin": (
        "Everything, including roles:define: putting a permission nobody holds yet on a role.",
        [*CONSOLE, *READ, *WRITE, "roles:define"],
    ),
    "console-admin": ("Every console page and action.", [*CONSOLE, *READ, *WRITE]),
    "auditor": ("The console read-only, and the audit log with its export.", [*CONSOLE, *READ]),
    "security-admin": (
        "Account locks, IP blocks and sessions (tokens).",
        [*CONSOLE, *READ, "security:write", "tokens:write", "users:write"],
    ),
}


def create(apps, schema_editor):
    Role = apps.get_model("roles", "Role")
    Permission = apps.get_model("roles", "Permission")
    for name, (description, permissions) in BUILTIN_ROLES.items():
        role, created = Role.objects.get_or_create(
            name=name, defaults={"description": description, "require_mfa": True}
        )
        role.builtin = True
        role.save(update_fields=["builtin"])
        if created:
            Permission.objects.bulk_create(
                Permission(role=role, value=value) for value in sorted(set(permissions))
            )


def unmark(apps, schema_editor):
    apps.get_model("roles", "Role").objects.filter(name__in=BUILTIN_ROLES).update(builtin=False)


class Migration(migrations.Migration):
    dependencies = [("roles", "0002_role_builtin")]

    operations = [migrations.RunPython(create, unmark)]
