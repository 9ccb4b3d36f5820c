"""The key ring: a reload reuses keys already parsed, and still sees every change."""

from __future__ import annotations

from django.utils import timezone

from oauth import keys
from oauth.models import SigningKey


def _by_identity(loaded: list[keys.LoadedKey]) -> dict[tuple[str, bool], keys.LoadedKey]:
    return {(key.kid, key.retired): key for key in loaded}


def test_reload_reuses_parsed_keys(db):
    first = keys._load_published()
    again = keys._load_published(_by_identity(first))
    assert [key.kid for key in again] == [key.kid for key in first]
    assert all(a is b for a, b in zip(again, first, strict=True))


def test_reload_sees_a_retired_key_and_its_replacement(db):
    first = keys._load_published()
    es256 = next(key for key in first if key.algorithm == "ES256")
    SigningKey.objects.filter(kid=es256.kid).update(retired_at=timezone.now())
    again = keys._load_published(_by_identity(first))
    retired = next(key for key in again if key.kid == es256.kid)
    assert retired.retired
    active = [key for key in again if key.algorithm == "ES256" and not key.retired]
    assert len(active) == 1 and active[0].kid != es256.kid
