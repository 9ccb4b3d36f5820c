"""Tables of the ground floor: the shared cache's entries (``core.cache``) and the generation
counters (``core.generations``)."""

from __future__ import annotations

from django.db import models

from core.cache import TABLE


class CacheEntry(models.Model):
    """One entry of ``core.cache.DatabaseCache``. An int is kept in ``number`` (so an increment
    is one atomic UPDATE); any other value as JSON in ``data``. ``expires`` is a Unix time
    (null: never)."""

    cache_key = models.CharField(max_length=250, primary_key=True)
    number = models.BigIntegerField(null=True)
    data = models.TextField(null=True)
    expires = models.FloatField(null=True, db_index=True)

    class Meta:
        db_table = TABLE


class Generation(models.Model):
    """A named counter; bumping it tells every process to drop its cache for that name."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
