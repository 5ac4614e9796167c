"""`issuer`: the proof's verification method belongs to the credential's issuer.

It must resolve, be listed under its controller's assertionMethod, and that controller must be
the credential's issuer. On success it yields the public key the `proof` check needs.
"""

from __future__ import annotations

from dataintegrity import DataIntegrityError, ed25519_public_key_from_multibase
from verifier.report import CheckResult
from verifier.resolvers import DidResolver, ResolutionError


def issuer_id(credential: dict) -> str | None:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def check_issuer(credential: dict, proof: dict, resolver: DidResolver) -> tuple[CheckResult, bytes | None]:
    method_id = proof.get("verificationMethod") if isinstance(proof, dict) else None
    if not isinstance(method_id, str) or "#" not in method_id:
        return CheckResult.failed("issuer", "unresolvable_key", "the proof names no verification method"), None
    controller = method_id.split("#", 1)[0]
    try:
        document = resolver.resolve(controller)
    except ResolutionError as error:
        return CheckResult.failed("issuer", error.code, str(error)), None
    method = next(
        (m for m in document.get("verificationMethod", []) if isinstance(m, dict) and _absolute(m.get("id"), controller) == method_id),
        None,
    )
    if method is None:
        return CheckResult.failed("issuer", "unresolvable_key", f"{controller} does not list {method_id}"), None
    purpose = proof.get("proofPurpose", "assertionMethod")
    listed = [_absolute(m if isinstance(m, str) else m.get("id"), controller) for m in document.get(purpose, [])]
    if method_id not in listed:
        return CheckResult.failed("issuer", "key_not_authorized", f"{method_id} is not listed under {purpose}"), None
    if method.get("controller", controller) != issuer_id(credential):
        return CheckResult.failed(
            "issuer", "issuer_key_mismatch",
            f"the key's controller {method.get('controller')} is not the issuer {issuer_id(credential)}",
        ), None
    try:
        public_key = ed25519_public_key_from_multibase(method.get("publicKeyMultibase", ""))
    except DataIntegrityError as error:
        return CheckResult.failed("issuer", "unsupported_key", f"{method_id}: {error}"), None
    return CheckResult.passed("issuer", f"signed with {method_id}, a key of the issuer"), public_key


def _absolute(reference, controller: str):
    return f"{controller}{reference}" if isinstance(reference, str) and reference.startswith("#") else reference
