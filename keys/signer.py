"""The only object that holds an opened private key, and it can only sign."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.encryption import KeyEncryptionKey


class Ed25519Signer:
    """A `dataintegrity.Signer` for one verification method."""

    algorithm = "Ed25519"

    def __init__(self, verification_method: str, private_key: Ed25519PrivateKey):
        self.verification_method = verification_method
        self._private_key = private_key

    @classmethod
    def from_seed(cls, verification_method: str, seed: bytes) -> Ed25519Signer:
        return cls(verification_method, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def unseal(
        cls, verification_method: str, sealed: bytes, kek: KeyEncryptionKey, *, key_id: str
    ) -> Ed25519Signer:
        return cls.from_seed(verification_method, kek.open(sealed, key_id=key_id))

    def sign(self, data: bytes) -> bytes:
        return self._private_key.sign(data)

    def __repr__(self) -> str:
        return f"Ed25519Signer({self.verification_method!r})"
