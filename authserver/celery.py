"""Celery app: configured from Django settings (``CELERY_*``), tasks autodiscovered."""

import os

from celery import Celery
from celery.signals import task_failure, task_retry, task_success

from core import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authserver.settings")

app = Celery("authserver")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

task_success.connect(metrics.task_succeeded, weak=False)
task_failure.connect(metrics.task_failed, weak=False)
task_retry.connect(metrics.task_retried, weak=False)
