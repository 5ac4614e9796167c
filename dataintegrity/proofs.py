"""Creating and verifying Data Integrity proofs (W3C VC Data Integrity 1.0, and the legacy ``Ed25519Signature2020``).

The data that is signed is ``hash(canonical proof configuration) || hash(canonical document)``,
where the proof configuration is the proof without ``proofValue`` and carries the document's
``@context``. RDFC canonicalization runs in safe mode, so a document using an undefined term can
neither be signed nor verified; JCS signs the JSON as it is.

Proof sets are supported (a document whose ``proof`` is a list of independent proofs, each over the
document without any proof), and so are proof chains (VC Data Integrity 1.0, "Add Proof Set/Chain"
and "Verify Proof Sets and Chains"): a proof that names a ``previousProof`` (an id, or a list of ids,
of other proofs in the set) covers the document with exactly those proofs as its ``proof``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import algorithms
from .contextcache import default_context_cache
from .cryptosuites import DATA_INTEGRITY_PROOF, EDDSA_RDFC_2022, Cryptosuite, cryptosuite_variants
from .documentloader import DocumentLoader
from .errors import DataIntegrityError, MultibaseError, UnsupportedCryptosuite
from .multibase import decode_base58btc, encode_base58btc

__all__ = ["ProofResult", "Signer", "add_proof", "hash_data", "proof_configuration", "verify_proof"]


@runtime_checkable
class Signer(Protocol):
    """Holds a private key and signs with it; the proof engine never sees key bytes.

    ``verification_method`` is the URL a verifier dereferences to find the public key;
    ``algorithm`` names the key kind (``"Ed25519"``, ``"P-256"`` or ``"P-384"``), and ``sign`` returns
    the signature as the suite writes it: raw for Ed25519, ``r || s`` for ECDSA
    (:func:`dataintegrity.algorithms.sign` makes both).
    """

    verification_method: str
    algorithm: str

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class ProofResult:
    """Outcome of :func:`verify_proof`. Truthy exactly when ``verified``.

    ``code`` is None when verified, otherwise a stable snake_case reason such as
    ``"invalid_signature"``; ``message`` explains it to a human.
    """

    verified: bool
    code: str | None = None
    message: str = ""

    def __bool__(self) -> bool:
        return self.verified


def _xml_datetime(created: dt.datetime | str) -> str:
    """Format ``created`` as an XML Schema dateTime in UTC without fractions ("2024-01-02T03:04:05Z")."""
    if isinstance(created, str):
        try:
            dt.datetime.fromisoformat(created)
        except ValueError:
            raise ValueError(f"created {created!r} is not an XML Schema dateTime") from None
        return created  # a caller-supplied string is used verbatim (test vectors rely on it)
    if not isinstance(created, dt.datetime):
        raise TypeError(f"created must be a datetime or str, not {type(created).__name__}")
    if created.tzinfo is None or created.utcoffset() is None:
        raise ValueError("created must be timezone-aware; pass e.g. datetime.now(timezone.utc)")
    return created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def proof_configuration(
    document: dict,
    *,
    verification_method: str,
    created: dt.datetime | str,
    proof_purpose: str = "assertionMethod",
    cryptosuite: Cryptosuite = EDDSA_RDFC_2022,
    proof_id: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    previous_proof: str | list[str] | None = None,
) -> dict:
    """Return the proof configuration: the proof to be, without ``proofValue``, with the document's ``@context``.

    ``proof_id`` becomes the proof's ``id`` (proof sets name their members so chains can refer to them).
    ``challenge`` and ``domain`` bind a presentation's proof to one verifier's request.
    """
    config: dict[str, Any] = {}
    if "@context" in document:
        config["@context"] = _copy(document["@context"])
    config.update(cryptosuite.proof_fields)
    if proof_id is not None:
        config["id"] = proof_id
    config.update(
        {
            "created": _xml_datetime(created),
            "verificationMethod": verification_method,
            "proofPurpose": proof_purpose,
        }
    )
    if challenge is not None:
        config["challenge"] = challenge
    if domain is not None:
        config["domain"] = domain
    if previous_proof is not None:
        config["previousProof"] = _copy(previous_proof)
    return config


def hash_data(
    document: dict,
    proof_config: dict,
    *,
    document_loader: DocumentLoader,
    cryptosuite: Cryptosuite = EDDSA_RDFC_2022,
    previous_proofs: list[dict] | None = None,
) -> bytes:
    """Return ``hash(canon(proof_config)) || hash(canon(document without "proof"))``, the bytes that are signed.

    A ``proof_config`` without ``@context`` takes the document's (as the specification requires).
    In a proof chain, ``previous_proofs`` (the proofs the config's ``previousProof`` names) are the
    hashed document's ``proof``.

    Raises:
        DataIntegrityError: a subclass from canonicalization (safe mode, unknown context, limits).
    """
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    if previous_proofs is not None:
        unsecured["proof"] = previous_proofs
    config = {key: value for key, value in proof_config.items() if key != "proofValue"}
    if "@context" in document:
        config["@context"] = document["@context"]
    proof_canon = _canonical_configuration(config, document_loader, cryptosuite)
    document_canon = cryptosuite.canonicalize(unsecured, document_loader=document_loader)
    return cryptosuite.hash(proof_canon.encode("utf-8")) + cryptosuite.hash(document_canon.encode("utf-8"))


# Canonical proof configurations by (suite, JSON text). A verifier meets the same configuration
# whenever a credential is verified again; its canonical form is a pure function of its JSON when
# every context it names is a bundled one the loader serves unchanged, and only then is it kept.
MAX_CANONICAL_CONFIGURATIONS = 1024
_canonical_configurations: dict[tuple[Cryptosuite, str], str] = {}
_canonical_configurations_lock = threading.Lock()


def _canonical_configuration(config: dict, document_loader: DocumentLoader, cryptosuite: Cryptosuite) -> str:
    contexts = _as_list(config.get("@context"))
    trusted = default_context_cache().trusted_urls(document_loader)
    if not contexts or not all(isinstance(url, str) and url in trusted for url in contexts):
        return cryptosuite.canonicalize(config, document_loader=document_loader)
    try:
        # json.dumps tells True from 1 and 1.0 from 1, which == does not
        key = (cryptosuite, json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    except (TypeError, ValueError):  # not JSON (a Decimal, a cycle...): canonicalize decides what it means
        return cryptosuite.canonicalize(config, document_loader=document_loader)
    canonical = _canonical_configurations.get(key)
    if canonical is None:
        canonical = cryptosuite.canonicalize(config, document_loader=document_loader)
        with _canonical_configurations_lock:
            if len(_canonical_configurations) >= MAX_CANONICAL_CONFIGURATIONS:
                _canonical_configurations.clear()
            _canonical_configurations[key] = canonical
    return canonical


def add_proof(
    document: dict,
    *,
    signer: Signer,
    created: dt.datetime | str,
    document_loader: DocumentLoader,
    proof_purpose: str = "assertionMethod",
    cryptosuite: Cryptosuite = EDDSA_RDFC_2022,
    proof_id: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    previous_proof: str | list[str] | None = None,
) -> dict:
    """Return a copy of ``document`` secured with a new proof made by ``signer``.

    ``document`` is not modified. If it already has a ``proof``, the result holds a proof set (a list)
    with the new proof last; each proof in a set covers the document without any proof, except with
    ``previous_proof`` (the ``id`` of an existing proof, or a list of them): the new proof then chains
    to those and covers the document with them as its ``proof``.

    Raises:
        TypeError: ``signer`` is not a Signer, its ``algorithm`` is not the suite's ``required_algorithm``,
            or the suite is a legacy one (verify only).
        ValueError: ``created`` is a naive datetime or not a dateTime string.
        DataIntegrityError: canonicalization failed (e.g. SafeModeError for an undefined term);
            nothing has been signed then.
    """
    if not isinstance(document, dict):
        raise TypeError(f"document must be a dict, not {type(document).__name__}")
    if not _is_signer(signer):
        raise TypeError("signer must have 'verification_method', 'algorithm' and a 'sign(data)' method")
    if signer.algorithm != cryptosuite.required_algorithm:
        raise TypeError(
            f"cryptosuite {cryptosuite.name!r} requires a {cryptosuite.required_algorithm!r} signer, "
            f"got algorithm {signer.algorithm!r}"
        )
    if cryptosuite.proof_type != DATA_INTEGRITY_PROOF:
        raise TypeError(f"{cryptosuite.name} is a legacy suite that is only verified; sign with a DataIntegrityProof suite")
    config = proof_configuration(
        document,
        verification_method=signer.verification_method,
        created=created,
        proof_purpose=proof_purpose,
        cryptosuite=cryptosuite,
        proof_id=proof_id,
        challenge=challenge,
        domain=domain,
        previous_proof=previous_proof,
    )
    previous = None if previous_proof is None else _matching_proofs(_as_list(document.get("proof")), previous_proof)
    if isinstance(previous, str):
        raise ValueError(previous)
    signature = signer.sign(hash_data(document, config, document_loader=document_loader, cryptosuite=cryptosuite,
                                      previous_proofs=previous))
    proof = {key: value for key, value in config.items() if key != "@context"}
    proof["proofValue"] = encode_base58btc(signature)

    secured = _copy(document)
    existing = secured.get("proof")
    if existing is None:
        secured["proof"] = proof
    else:
        secured["proof"] = [*(existing if isinstance(existing, list) else [existing]), proof]
    return secured


def _is_signer(value: Any) -> bool:
    """``isinstance(value, Signer)`` as the runtime-checkable Protocol decides it (every member
    present, the method not None), without its cost (about 17 us, a tenth of signing)."""
    return (hasattr(value, "verification_method") and hasattr(value, "algorithm")
            and getattr(value, "sign", None) is not None)


_SHARED = (str, int, float, bool, type(None))  # immutable: copy.deepcopy shares them too


def _copy(value: Any) -> Any:
    """A deep copy of JSON ``value``, as ``copy.deepcopy`` makes it but without its memo and
    dispatch (most of signing's copying time); anything but plain dicts, lists and JSON scalars is
    left to ``copy.deepcopy``. Recursive like it, with fewer frames a level."""
    kind = type(value)
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind in _SHARED:
        return value
    return copy.deepcopy(value)


def verify_proof(document: dict, proof: dict, *, public_key: Any, document_loader: DocumentLoader) -> ProofResult:
    """Check one ``proof`` of the secured ``document`` against ``public_key``.

    ``public_key`` is a ``cryptography`` Ed25519, P-256 or P-384 public key object (see
    :func:`~dataintegrity.public_key_from_verification_method`) or raw 32-byte Ed25519 key bytes; the
    suite is picked by the proof's ``cryptosuite`` (or legacy ``type``) and the key's kind. The
    document's ``proof`` member (one proof or a whole proof set) is removed before hashing.
    Resolving ``verificationMethod`` and checking ``proofPurpose`` against the controller are the
    caller's job. Never raises for bad data; the result's ``code`` is one of
    ``unsupported_cryptosuite``, ``previous_proof_missing``, ``malformed_proof``, ``invalid_proof``,
    ``invalid_signature`` (also for a key of the wrong kind) or the ``code`` of the canonicalization
    error (``undefined_term``, ``unknown_context``, ``canonicalization_failed``, ...).
    """
    if not isinstance(document, dict):
        return ProofResult(False, "invalid_jsonld", "the secured document is not a JSON object")
    if not isinstance(proof, dict):
        return ProofResult(False, "malformed_proof", "the proof is not a JSON object")
    previous = None
    if "previousProof" in proof:
        previous = _matching_proofs(_as_list(document.get("proof")), proof["previousProof"])
        if isinstance(previous, str):
            return ProofResult(False, "previous_proof_missing", previous)
    try:
        name = proof.get("cryptosuite", proof.get("type"))
        variants = cryptosuite_variants(name)
        named_by = {key: proof[key] for key in ("type", "cryptosuite") if key in proof}
        if named_by != next(iter(variants.values())).proof_fields:
            raise UnsupportedCryptosuite(f"unsupported proof type {proof.get('type')!r} for {name!r}")
        if "@context" in proof:
            # A proof that states a @context must agree with (be a prefix of) the document's.
            declared = _as_list(proof["@context"])
            if _as_list(document.get("@context"))[: len(declared)] != declared:
                return ProofResult(False, "invalid_proof", "the proof's @context does not match the document's")
        proof_value = proof.get("proofValue")
        if not isinstance(proof_value, str):
            return ProofResult(False, "malformed_proof", "the proof has no proofValue string")
        signature = decode_base58btc(proof_value)
        key = _public_key(public_key)
        kind = algorithms.key_algorithm(key)
        suite = variants.get(kind)
        if suite is None:
            # The key cannot have made this proof, so the signature does not verify with it.
            return ProofResult(False, "invalid_signature", f"a {kind or 'unusable'} key cannot verify a {name} proof")
        data = hash_data(document, proof, document_loader=document_loader, cryptosuite=suite, previous_proofs=previous)
    except MultibaseError as error:
        return ProofResult(False, "malformed_proof", f"proofValue: {error}")
    except DataIntegrityError as error:
        return ProofResult(False, error.code, str(error))
    if not algorithms.verify(key, signature, data):
        return ProofResult(False, "invalid_signature", "the signature does not match the document and key")
    return ProofResult(True)


def _public_key(value: Any) -> algorithms.PublicKey | None:
    """The key object for ``value`` (a public key object or raw Ed25519 bytes), or None if it is neither."""
    if isinstance(value, (bytes, bytearray)):
        try:
            return Ed25519PublicKey.from_public_bytes(bytes(value))
        except ValueError:
            return None
    return value if isinstance(value, (Ed25519PublicKey, ec.EllipticCurvePublicKey)) else None


def _matching_proofs(all_proofs: list, previous_proof: Any) -> list[dict] | str:
    """The proofs of ``all_proofs`` that ``previous_proof`` (an id or a list of ids) names, in its
    order; or, when it is malformed or names a proof that is not there, the message saying so."""
    wanted = previous_proof if isinstance(previous_proof, list) else [previous_proof]
    if not wanted or not all(isinstance(proof_id, str) for proof_id in wanted):
        return "previousProof must be a proof id or a non-empty list of them"
    by_id = {proof.get("id"): proof for proof in all_proofs if isinstance(proof, dict) and "id" in proof}
    missing = [proof_id for proof_id in wanted if proof_id not in by_id]
    if missing:
        return f"previousProof names {', '.join(missing)}, which is not a proof of this document"
    return [by_id[proof_id] for proof_id in wanted]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
