"""mfa.recovery_codes: generation, normalisation and lookup (pure)."""

from __future__ import annotations

from mfa import recovery_codes


def test_ten_distinct_codes_of_ten_characters():
    codes = recovery_codes.generate()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(recovery_codes.looks_like_recovery_code(c) for c in codes)
    assert all(len(recovery_codes.normalise(c)) == 10 for c in codes)


def test_hashes_do_not_contain_the_code_and_lookup_tolerates_case_and_dashes(settings):
    codes = recovery_codes.generate()
    hashes = [recovery_codes.hash_code(c) for c in codes]
    assert not any(recovery_codes.normalise(c) in h for c, h in zip(codes, hashes, strict=True))
    assert recovery_codes.find(codes[3].upper().replace("-", " "), hashes) == 3
    assert recovery_codes.find("aaaaa-aaaaa", hashes) is None


def test_totp_like_input_is_not_a_recovery_code():
    assert not recovery_codes.looks_like_recovery_code("123456")
    assert not recovery_codes.looks_like_recovery_code("")
