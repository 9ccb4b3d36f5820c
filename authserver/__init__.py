"""authserver: OAuth 2.x / OpenID Connect authorization server project package."""

from authserver.celery import app as celery_app

__all__ = ["celery_app"]
