"""The configuration file in the console: download the export, upload an apply file.

The download is ``manage.py export`` (``core.declarative.export_text``: secrets left out). An
upload is checked and dry-run first (``console.configuration.plan``: the apply framework's plan,
created / changed / left per section and entry) and kept in the session; it is applied only
when the admin confirms that plan (``console.configuration.apply``: a fresh second factor, the
hierarchy guard, one audit event). A bad file is a page listing the error, nothing applied.

Exporting takes ``CONFIG_EXPORT`` (reading users, roles, groups, clients and tokens: every
section it shows), importing ``CONFIG_IMPORT`` (writing each of them), as ``roles.access``
defines them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import access
from console import configuration as config_import
from core.declarative import ConfigError, export_text
from core.request_meta import request_meta
from roles.access import AccessError, acting

UPLOAD = "console.config_upload"  # the session key of the upload awaiting confirmation
MAX_BYTES = 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(label="Configuration file (YAML)")

    def clean_file(self) -> tuple[str, str]:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // 1024} KiB.")
        try:
            content = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        return upload.name[:100], content


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    """The download and upload page, with ``errors`` of a refused upload if any."""
    can = request.console_can  # set by ``console_view``
    context.setdefault("form", UploadForm())
    context["can_import"] = all(can[p.replace(":", "_")] for p in access.CONFIG_IMPORT)
    return render(request, "console/configuration/index.html", context, status=status)


def _messages(exc: ConfigError | AccessError) -> list[str]:
    return exc.messages if isinstance(exc, ConfigError) else [str(exc)]


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


@require_GET
@access.console_view(access.CONFIG_EXPORT)
def configuration(request: HttpRequest) -> HttpResponse:
    request.session.pop(UPLOAD, None)  # back here (Cancel): the unconfirmed upload is dropped
    return _page(request)


@require_GET
@access.console_view(access.CONFIG_EXPORT)
def configuration_export(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(export_text(), content_type="application/yaml; charset=utf-8")
    name = f"authserver-{timezone.now():%Y%m%d-%H%M%S}.yaml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _plan_page(request: HttpRequest, upload: dict[str, str]) -> HttpResponse:
    """The dry run of ``upload``; a bad file or one beyond the admin's permissions is the
    same page with the error (400), nothing kept."""
    try:
        plan = config_import.plan(
            actor=acting(access.principal(request)),
            label=upload["label"],
            content=upload["content"],
        )
    except (ConfigError, AccessError) as exc:
        request.session.pop(UPLOAD, None)
        return _page(request, 400, errors=_messages(exc), label=upload["label"])
    request.session[UPLOAD] = upload
    counts = {status: plan.count(status) for status in ("created", "changed", "left")}
    context = {"plan": plan, "upload": upload, "sections": plan.sections.items(), "counts": counts}
    return render(request, "console/configuration/plan.html", context)


@require_POST
@access.console_view(access.CONFIG_IMPORT)
def configuration_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, 400, form=form)
    label, content = form.cleaned_data["file"]
    return _plan_page(request, {"label": label, "content": content, "digest": _digest(content)})


@require_http_methods(["GET", "POST"])
@access.console_view(access.CONFIG_IMPORT, form_page="console:config-confirm")
def configuration_confirm(request: HttpRequest) -> HttpResponse:
    """GET: the plan of the upload kept in the session (where re-authenticating comes back
    to); POST: apply it, if it is the upload whose plan the admin saw."""
    upload = request.session.get(UPLOAD)
    if not isinstance(upload, dict):
        return redirect("console:config")
    if request.method == "GET":
        return _plan_page(request, upload)
    if request.POST.get("digest") != upload["digest"]:
        return _page(request, 409, errors=["A newer upload replaced this one: check its plan."])
    try:
        result = config_import.apply(
            actor=acting(access.principal(request)),
            meta=request_meta(request),
            label=upload["label"],
            content=upload["content"],
        )
    except (ConfigError, AccessError) as exc:
        request.session.pop(UPLOAD, None)
        return _page(request, 400, errors=_messages(exc), label=upload["label"])
    request.session.pop(UPLOAD, None)
    shown: list[tuple[str, str, dict[str, str]]] = [
        (section, name, {k: _shown(v) for k, v in data.items() if k not in ("client_id", "id")})
        for section, entries in result.sections.items()
        for name, data in entries.items()
    ]
    context = {"result": result, "label": upload["label"], "secrets": [s for s in shown if s[2]]}
    # One-time secrets go straight into this POST's response (the console sends no-store).
    return render(request, "console/configuration/done.html", context)
