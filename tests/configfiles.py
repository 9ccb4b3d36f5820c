"""Writing an ``apply`` file and running ``manage.py apply`` on it (every app's config tests)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def apply(tmp_path: Path, text: str, *args: str) -> tuple[str, str]:
    """``manage.py apply`` of ``text``: what it printed and the file's path."""
    path = write_config(tmp_path, text)
    out = StringIO()
    call_command("apply", str(path), *args, stdout=out)
    return out.getvalue(), str(path)
