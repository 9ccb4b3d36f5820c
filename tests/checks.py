"""What ``manage.py check --deploy`` reports under one id (the posture checks' tests)."""

from django.core.checks import CheckMessage, run_checks


def findings(id_: str) -> list[CheckMessage]:
    return [m for m in run_checks(include_deployment_checks=True) if m.id == id_]
