"""The only objects that hold an opened private key, and they can only sign."""

from __future__ import annotations

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import (
    ECDSA_RDFC_2019_P256,
    ECDSA_RDFC_2019_P384,
    EDDSA_RDFC_2022,
    Cryptosuite,
    key_algorithm,
)
from dataintegrity.algorithms import ED25519, P256, P384, PrivateKey, sign
from keys.encryption import KeyEncryptionKey
from keys.generation import private_key_from_bytes

# The Data Integrity suite each key kind signs with, and the JOSE algorithm of its VC-JWTs.
CRYPTOSUITES: dict[str, Cryptosuite] = {
    ED25519: EDDSA_RDFC_2022, P256: ECDSA_RDFC_2019_P256, P384: ECDSA_RDFC_2019_P384,
}
JOSE_ALGORITHMS = {ED25519: "EdDSA", P256: "ES256", P384: "ES384"}


class KeySigner:
    """A `dataintegrity.Signer` for one verification method: Ed25519, P-256 or P-384.

    `cryptosuite` is the suite its proofs use (eddsa-rdfc-2022 or ecdsa-rdfc-2019 for the curve),
    `jose_algorithm` the `alg` of its JWTs. `sign_jose` gives the JWS signature of a signing input
    (for ECDSA, JWS and Data Integrity both write ``r || s``).
    """

    def __init__(self, verification_method: str, private_key: PrivateKey):
        algorithm = key_algorithm(private_key)
        if algorithm not in CRYPTOSUITES:
            raise TypeError(f"cannot sign with a {type(private_key).__name__}")
        self.verification_method = verification_method
        self.algorithm = algorithm
        self._private_key = private_key

    @property
    def cryptosuite(self) -> Cryptosuite:
        return CRYPTOSUITES[self.algorithm]

    @property
    def jose_algorithm(self) -> str:
        return JOSE_ALGORITHMS[self.algorithm]

    @classmethod
    def unseal(cls, verification_method: str, sealed: bytes, kek: KeyEncryptionKey, *, key_id: str,
               key_type: str = ED25519) -> KeySigner:
        return cls(verification_method, private_key_from_bytes(key_type, kek.open(sealed, key_id=key_id)))

    def sign(self, data: bytes) -> bytes:
        return sign(self._private_key, data)

    def sign_jwt(self, claims: dict, *, typ: str = "JWT") -> str:
        """A compact JWS of `claims` (PyJWT): `alg` of this key's kind, `kid` its verification method."""
        return jwt.encode(claims, self._private_key, algorithm=self.jose_algorithm,
                          headers={"kid": self.verification_method, "typ": typ})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verification_method!r}, {self.algorithm})"


class Ed25519Signer(KeySigner):
    """A :class:`KeySigner` made from a 32-byte Ed25519 seed."""

    @classmethod
    def from_seed(cls, verification_method: str, seed: bytes) -> Ed25519Signer:
        return cls(verification_method, Ed25519PrivateKey.from_private_bytes(seed))
