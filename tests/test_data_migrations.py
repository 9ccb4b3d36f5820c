"""Every data migration is listed in ``tests.conftest.DATA_MIGRATIONS``, whose rows are written
again after a transactional test's flush, or in ``DATA_MIGRATIONS_REMOVED``, whose rows the test
databases start without (a data migration added later must say which there)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.apps import apps
from django.db.migrations import RunPython
from django.db.migrations.loader import MigrationLoader

from tests.conftest import DATA_MIGRATIONS, DATA_MIGRATIONS_REMOVED


def test_every_data_migration_is_restored_after_a_flush():
    project, installed = Path(__file__).resolve().parent.parent, Path(sys.prefix).resolve()
    loader = MigrationLoader(None, ignore_no_migrations=True)  # the files only, no database
    found = {
        (operation.code.__module__, operation.code.__name__)
        for (app_label, _name), migration in loader.disk_migrations.items()
        if (path := Path(apps.get_app_config(app_label).path).resolve()).is_relative_to(project)
        and not path.is_relative_to(installed)  # the project's apps, not those in .venv
        for operation in migration.operations
        if isinstance(operation, RunPython)
    }
    assert found == set(DATA_MIGRATIONS) | set(DATA_MIGRATIONS_REMOVED)
    assert not set(DATA_MIGRATIONS) & set(DATA_MIGRATIONS_REMOVED)
