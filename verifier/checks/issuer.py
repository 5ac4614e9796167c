"""`issuer`: the proof's verification method belongs to the credential's issuer.

It must resolve, be listed under its controller's verification relationship for the proof's
purpose (assertionMethod for credentials), and that controller must be the credential's issuer.
When the key resolves it yields the public key the `proof` check needs, even when its
controller is not the issuer: the report then says "a valid signature, but not the issuer's".
"""

from __future__ import annotations

from dataintegrity import DataIntegrityError, public_key_from_verification_method
from verifier.report import CheckResult
from verifier.resolvers import DidResolver, ResolutionError


def issuer_id(credential: dict) -> str | None:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def authorized_key(proof: dict, resolver: DidResolver, *, check: str, purpose: str):
    """Resolve the proof's verification method and require it listed under `purpose`.

    :return: (public key, controller, None) or (None, None, the failed CheckResult).
    """
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str) or "#" not in method_id:
        return None, None, CheckResult.failed(check, "unresolvable_key", "the proof names no verification method")
    controller = method_id.split("#", 1)[0]
    try:
        document = resolver.resolve(controller)
    except ResolutionError as error:
        return None, None, CheckResult.failed(check, error.code, str(error))
    method = next(
        (m for m in document.get("verificationMethod", [])
         if isinstance(m, dict) and _absolute(m.get("id"), controller) == method_id),
        None,
    )
    if method is None:
        return None, None, CheckResult.failed(check, "unresolvable_key", f"{controller} does not list {method_id}")
    listed = [_absolute(m if isinstance(m, str) else m.get("id"), controller) for m in document.get(purpose, [])]
    if method_id not in listed:
        return None, None, CheckResult.failed(check, "key_not_authorized", f"{method_id} is not listed under {purpose}")
    try:
        public_key = public_key_from_verification_method(method)
    except DataIntegrityError as error:
        return None, None, CheckResult.failed(check, "unsupported_key", f"{method_id}: {error}")
    return public_key, method.get("controller", controller), None


def check_issuer(credential: dict, proof: dict, resolver: DidResolver) -> tuple[CheckResult, object | None]:
    public_key, controller, failure = authorized_key(proof, resolver, check="issuer", purpose="assertionMethod")
    if failure:
        return failure, None
    if controller != issuer_id(credential):
        return CheckResult.failed(
            "issuer", "issuer_key_mismatch",
            f"the key's controller {controller} is not the issuer {issuer_id(credential)}",
        ), public_key
    return CheckResult.passed("issuer", f"signed with {proof['verificationMethod']}, a key of the issuer"), public_key


def _absolute(reference, controller: str):
    return f"{controller}{reference}" if isinstance(reference, str) and reference.startswith("#") else reference
