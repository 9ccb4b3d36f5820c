"""The generation counters moved to the ground floor (``core.models.Generation``): the table is
renamed here and the model leaves this app's state; ``core`` 0002 takes it into its own."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oauth", "0004_apis_and_assertions")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable("Generation", "core_generation")],
            state_operations=[migrations.DeleteModel("Generation")],
        )
    ]
