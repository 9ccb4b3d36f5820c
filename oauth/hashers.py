"""The client-secret hasher: HMAC-SHA256 with a server-side pepper (see authserver/crypto.py).

Registered in ``PASSWORD_HASHERS`` (never first: people's passwords use Argon2id) and selected
for client secrets by ``OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]``.
"""

from __future__ import annotations

import hmac

from django.contrib.auth.hashers import BasePasswordHasher, check_password, mask_hash

from core.crypto import keyed_hash


class ClientSecretHasher(BasePasswordHasher):
    algorithm = "hmac_sha256"

    def salt(self) -> str:
        return ""  # 256-bit random secrets need no salt; the pepper keys the hash

    def encode(self, password: str, salt: str) -> str:
        return f"{self.algorithm}$${keyed_hash(password, 'client-secret')}"

    def decode(self, encoded: str) -> dict[str, str]:
        algorithm, salt, digest = encoded.split("$", 2)
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        return hmac.compare_digest(encoded, self.encode(password, ""))

    def safe_summary(self, encoded: str) -> dict[str, str]:
        return {"algorithm": self.algorithm, "hash": mask_hash(self.decode(encoded)["hash"])}

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None


_client_secret_hasher = ClientSecretHasher()


def verify_client_secret(secret: str, encoded: str) -> bool:
    """Whether ``secret`` is the client secret stored as ``encoded``: our keyed hash directly
    (every client authentication pays this, and Django's ``check_password`` looks the hasher up
    twice first), a secret stored by another Django hasher through ``check_password``. A value
    stored in clear never matches (DOT's own check would compare it)."""
    if encoded.startswith(f"{ClientSecretHasher.algorithm}$"):
        return _client_secret_hasher.verify(secret, encoded)
    return check_password(secret, encoded)
