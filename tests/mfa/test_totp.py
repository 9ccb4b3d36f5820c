"""mfa.totp: RFC 6238 Appendix B vectors, the ±1 step window and single use (pure, no DB)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from mfa import totp

SHA1_SEED = base64.b32encode(b"12345678901234567890").decode()
SHA256_SEED = base64.b32encode(b"12345678901234567890123456789012").decode()
SHA512_SEED = base64.b32encode(b"1234567890" * 6 + b"1234").decode()

# RFC 6238 Appendix B (T0 = 0, X = 30 s, 8 digits).
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


def test_sha1_seed_is_the_rfc_one():
    assert SHA1_SEED == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(("timestamp", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc6238_appendix_b_vectors(timestamp, sha1, sha256, sha512):
    assert totp.code_at(SHA1_SEED, timestamp, digits=8) == sha1
    assert totp.code_at(SHA256_SEED, timestamp, digits=8, digest=hashlib.sha256) == sha256
    assert totp.code_at(SHA512_SEED, timestamp, digits=8, digest=hashlib.sha512) == sha512


def test_six_digit_codes_are_the_last_six_digits_of_the_vectors():
    assert totp.code_at(SHA1_SEED, 1111111109) == "081804"


def test_generated_secret_has_160_bits():
    secret = totp.generate_secret()
    assert len(base64.b32decode(secret)) == 20
    assert secret != totp.generate_secret()


NOW = 1_700_000_015.0  # 15 s into a step
STEP = totp.step_at(NOW)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_current_and_adjacent_steps_are_accepted(offset):
    code = totp.code_at(SHA1_SEED, NOW + offset * totp.PERIOD)
    assert totp.matching_step(SHA1_SEED, code, now=NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_steps_outside_the_window_are_rejected(offset):
    code = totp.code_at(SHA1_SEED, NOW + offset * totp.PERIOD)
    assert totp.matching_step(SHA1_SEED, code, now=NOW) is None


def test_a_used_step_and_earlier_ones_are_rejected():
    current = totp.code_at(SHA1_SEED, NOW)
    previous = totp.code_at(SHA1_SEED, NOW - totp.PERIOD)
    assert totp.matching_step(SHA1_SEED, current, now=NOW, last_used_step=STEP) is None
    assert totp.matching_step(SHA1_SEED, previous, now=NOW, last_used_step=STEP) is None
    nxt = totp.code_at(SHA1_SEED, NOW + totp.PERIOD)
    assert totp.matching_step(SHA1_SEED, nxt, now=NOW, last_used_step=STEP) == STEP + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5", "x" * 500])
def test_malformed_codes_never_match(code):
    assert totp.matching_step(SHA1_SEED, code, now=NOW) is None


def test_spaces_inside_a_code_are_ignored():
    code = totp.code_at(SHA1_SEED, NOW)
    assert totp.matching_step(SHA1_SEED, f"{code[:3]} {code[3:]}", now=NOW) == STEP


def test_provisioning_uri_carries_secret_issuer_and_parameters():
    uri = totp.provisioning_uri(SHA1_SEED, account="alice", issuer="authserver")
    assert uri.startswith("otpauth://totp/authserver%3Aalice?")
    assert f"secret={SHA1_SEED}" in uri
    assert "issuer=authserver" in uri and "digits=6" in uri and "period=30" in uri
