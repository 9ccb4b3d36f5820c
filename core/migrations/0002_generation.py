"""``Generation`` (formerly ``oauth.Generation``): its table was renamed by ``oauth`` 0005; here
it only enters this app's state. On a new database ``oauth`` 0001 creates the table and 0005
renames it before this runs."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("oauth", "0005_generation_to_core")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Generation",
                    fields=[
                        ("name", models.CharField(max_length=32, primary_key=True, serialize=False)),
                        ("value", models.BigIntegerField(default=0)),
                    ],
                )
            ]
        )
    ]
