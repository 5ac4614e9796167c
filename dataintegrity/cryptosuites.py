"""Cryptosuites: the small plug-ins that say how a proof is canonicalized and hashed, and for which key kind.

A suite that works with several key kinds (ECDSA on P-256 and P-384) is one :class:`Cryptosuite` per
kind, because the kind decides the hash. Signing is not part of a cryptosuite: a
:class:`~dataintegrity.proofs.Signer` holds the private key and only has to declare an
``algorithm`` equal to the suite's ``required_algorithm``; signatures are checked by
:func:`dataintegrity.algorithms.verify`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .algorithms import ED25519, P256, P384
from .canonicalize import canonicalize as _rdfc_canonicalize
from .errors import UnsupportedCryptosuite
from .jcs import canonicalize_jcs

DATA_INTEGRITY_PROOF = "DataIntegrityProof"


def _rdfc_sha384(document: dict, *, document_loader) -> str:
    return _rdfc_canonicalize(document, document_loader=document_loader, hash_algorithm="sha384")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _sha384(data: bytes) -> bytes:
    return hashlib.sha384(data).digest()


@dataclass(frozen=True)
class Cryptosuite:
    """One Data Integrity cryptosuite for one key kind.

    Attributes:
        name: the ``cryptosuite`` value in proofs (e.g. ``"eddsa-rdfc-2022"``); for a legacy suite
            without one, its proof type (``"Ed25519Signature2020"``).
        required_algorithm: the key kind and signer ``algorithm``: ``"Ed25519"``, ``"P-256"`` or ``"P-384"``.
        canonicalize: ``(document, *, document_loader) -> str``; raises DataIntegrityError subclasses.
        hash: digest applied to each canonical form.
        proof_type: the proof ``type`` this suite is used with.
    """

    name: str
    required_algorithm: str
    canonicalize: Callable[..., str]
    hash: Callable[[bytes], bytes]
    proof_type: str = DATA_INTEGRITY_PROOF

    @property
    def proof_fields(self) -> dict[str, str]:
        """The proof members that name this suite: ``type``, and ``cryptosuite`` unless the suite is legacy."""
        if self.proof_type == DATA_INTEGRITY_PROOF:
            return {"type": self.proof_type, "cryptosuite": self.name}
        return {"type": self.proof_type}


EDDSA_RDFC_2022 = Cryptosuite("eddsa-rdfc-2022", ED25519, _rdfc_canonicalize, _sha256)
EDDSA_JCS_2022 = Cryptosuite("eddsa-jcs-2022", ED25519, canonicalize_jcs, _sha256)
ECDSA_RDFC_2019_P256 = Cryptosuite("ecdsa-rdfc-2019", P256, _rdfc_canonicalize, _sha256)
# With P-384 even RDFC-1.0 itself hashes with SHA-384, so blank node labels differ from P-256's.
ECDSA_RDFC_2019_P384 = Cryptosuite("ecdsa-rdfc-2019", P384, _rdfc_sha384, _sha384)
ECDSA_JCS_2019_P256 = Cryptosuite("ecdsa-jcs-2019", P256, canonicalize_jcs, _sha256)
ECDSA_JCS_2019_P384 = Cryptosuite("ecdsa-jcs-2019", P384, canonicalize_jcs, _sha384)
# Legacy (pre-Data Integrity 1.0) suite, kept for verifying credentials issued with it.
ED25519_SIGNATURE_2020 = Cryptosuite(
    "Ed25519Signature2020", ED25519, _rdfc_canonicalize, _sha256, proof_type="Ed25519Signature2020"
)

_ALL = (
    EDDSA_RDFC_2022, EDDSA_JCS_2022, ECDSA_RDFC_2019_P256, ECDSA_RDFC_2019_P384,
    ECDSA_JCS_2019_P256, ECDSA_JCS_2019_P384, ED25519_SIGNATURE_2020,
)
# name -> algorithm -> suite
_SUITES = MappingProxyType(
    {name: MappingProxyType({s.required_algorithm: s for s in _ALL if s.name == name}) for name in {s.name for s in _ALL}}
)


def cryptosuite_variants(name: str) -> Mapping[str, Cryptosuite]:
    """Return the suites called ``name``, keyed by ``required_algorithm``.

    Raises:
        UnsupportedCryptosuite: no suite of that name is implemented.
    """
    try:
        return _SUITES[name]
    except (KeyError, TypeError):
        raise UnsupportedCryptosuite(
            f"unsupported cryptosuite {name!r}; supported: {', '.join(sorted(_SUITES))}"
        ) from None


def get_cryptosuite(name: str, algorithm: str | None = None) -> Cryptosuite:
    """Return the cryptosuite called ``name`` for keys of ``algorithm`` (``"Ed25519"``, ``"P-256"``, ``"P-384"``).

    ``algorithm`` may be left out when the suite works with one key kind only.

    Raises:
        UnsupportedCryptosuite: no suite of that name, or none for that key kind (or it is needed and missing).
    """
    variants = cryptosuite_variants(name)
    if algorithm is None and len(variants) == 1:
        return next(iter(variants.values()))
    try:
        return variants[algorithm]
    except KeyError:
        raise UnsupportedCryptosuite(
            f"cryptosuite {name!r} works with {' or '.join(variants)} keys, not {algorithm!r}"
        ) from None
