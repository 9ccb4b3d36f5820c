"""A user agent string in words ("Firefox 128 on Windows"), parsed by ``ua-parser`` (the
uap-core rules that Browserscope, Matomo and others maintain), once per distinct string."""

from __future__ import annotations

from functools import lru_cache

from django.utils.translation import gettext as _


def _named(family: str | None, major: str | None) -> str:
    if not family or family == "Other":
        return ""
    return f"{family} {major}" if major else family


@lru_cache(maxsize=512)
def _parts(user_agent: str) -> tuple[str, str, str]:
    from ua_parser import parse  # here, not at import: its rules load in 0.05 s

    result = parse(user_agent[:512])
    browser = _named(result.user_agent.family, result.user_agent.major) if result.user_agent else ""
    system = _named(result.os.family, result.os.major) if result.os else ""
    device = result.device.family if result.device and result.device.family != "Other" else ""
    return browser, system, device


def describe(user_agent: str) -> str:
    """The browser and system in words; the raw string's start when nothing is recognised."""
    if not user_agent:
        return _("Unknown device")
    browser, system, device = _parts(user_agent)
    if browser and system:
        text = _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    else:
        text = browser or system or user_agent[:60]
    return f"{text} ({device})" if device and device not in text else text
