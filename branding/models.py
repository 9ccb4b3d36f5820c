from django.db import models


class Brand(models.Model):
    """The brand set by ``manage.py apply`` (one row; an empty field falls back to the
    setting of the same meaning: ``BRAND_NAME``, ``BRAND_LOGO_URL``, ...)."""

    name = models.CharField(max_length=64, blank=True)
    logo_url = models.CharField(max_length=500, blank=True)
    primary_color = models.CharField(max_length=7, blank=True)
    support_url = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name or "brand"
