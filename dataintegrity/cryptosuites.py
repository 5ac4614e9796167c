"""Cryptosuites: the small plug-ins that say how a proof is canonicalized, hashed and checked.

Signing is not part of a cryptosuite: a :class:`~dataintegrity.proofs.Signer` holds the private
key and only has to declare an ``algorithm`` equal to the suite's ``required_algorithm``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .canonicalize import canonicalize as _rdfc_canonicalize
from .errors import UnsupportedCryptosuite


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _ed25519_verify(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature of ``data``; False otherwise."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Cryptosuite:
    """One Data Integrity cryptosuite.

    Attributes:
        name: the ``cryptosuite`` value in proofs (e.g. ``"eddsa-rdfc-2022"``).
        required_algorithm: the signer ``algorithm`` this suite needs (e.g. ``"Ed25519"``).
        canonicalize: ``(document, *, document_loader) -> str``; raises DataIntegrityError subclasses.
        hash: digest applied to each canonical form.
        verify_signature: ``(public_key, signature, data) -> bool``; never raises for bad input.
        proof_type: the proof ``type`` this suite is used with.
    """

    name: str
    required_algorithm: str
    canonicalize: Callable[..., str]
    hash: Callable[[bytes], bytes]
    verify_signature: Callable[[bytes, bytes, bytes], bool]
    proof_type: str = "DataIntegrityProof"


EDDSA_RDFC_2022 = Cryptosuite(
    name="eddsa-rdfc-2022",
    required_algorithm="Ed25519",
    canonicalize=_rdfc_canonicalize,
    hash=_sha256,
    verify_signature=_ed25519_verify,
)

_SUITES = MappingProxyType({suite.name: suite for suite in (EDDSA_RDFC_2022,)})


def get_cryptosuite(name: str) -> Cryptosuite:
    """Return the cryptosuite called ``name``.

    Raises:
        UnsupportedCryptosuite: no suite of that name is implemented.
    """
    try:
        return _SUITES[name]
    except (KeyError, TypeError):
        raise UnsupportedCryptosuite(
            f"unsupported cryptosuite {name!r}; supported: {', '.join(sorted(_SUITES))}"
        ) from None
