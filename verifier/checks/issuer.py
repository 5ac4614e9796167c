"""`issuer`: the proof's verification method belongs to the credential's issuer.

It must resolve, be listed under its controller's verification relationship for the proof's
purpose (assertionMethod for credentials), and that controller must be the credential's issuer.
When the key resolves it yields the public key the `proof` check needs, even when its
controller is not the issuer: the report then says "a valid signature, but not the issuer's".
"""

from __future__ import annotations

from dataintegrity import DataIntegrityError, public_key_from_verification_method
from verifier.report import WARNING, CheckResult
from verifier.resolvers import DidResolver, ResolutionError


def issuer_id(credential: dict) -> str | None:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def authorized_key(proof: dict, resolver: DidResolver, *, check: str, purpose: str):
    """Resolve the proof's verification method and require it listed under `purpose`.

    :return: (public key, controller, None) or (None, None, the failed CheckResult).
    """
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str):
        return None, None, CheckResult.failed(check, "unresolvable_key", "the proof names no verification method")
    if "#" not in method_id:
        return None, None, CheckResult.failed(
            check, "unresolvable_key", f"the verification method {method_id[:200]!r} names no key (it has no #fragment)")
    controller = method_id.split("#", 1)[0]
    try:
        document = resolver.resolve(controller)
    except ResolutionError as error:
        return None, None, CheckResult.failed(check, error.code, str(error))
    # Documents come from anyone: every list and entry is type-checked before use.
    relationship = _objects_or_ids(document.get(purpose))
    embedded = [m for m in relationship if isinstance(m, dict)]
    method = next(
        (m for m in _objects_or_ids(document.get("verificationMethod")) + embedded
         if isinstance(m, dict) and _absolute(m.get("id"), controller) == method_id),
        None,
    )
    if method is None:
        return None, None, CheckResult.failed(check, "unresolvable_key", f"{controller} does not list {method_id}")
    listed = {_absolute(m if isinstance(m, str) else m.get("id"), controller) for m in relationship}
    if method_id not in listed:
        return None, None, CheckResult.failed(check, "key_not_authorized", f"{method_id} is not listed under {purpose}")
    # The key belongs to the document it was resolved from; a document cannot hand its key to
    # another controller (else anyone's DID document could claim to sign for any issuer).
    if method.get("controller", controller) != controller:
        return None, None, CheckResult.failed(
            check, "key_not_authorized", f"{method_id} names {method.get('controller')!r} as its controller, not {controller}"
        )
    try:
        public_key = public_key_from_verification_method(method)
    except DataIntegrityError as error:
        return None, None, CheckResult.failed(check, "unsupported_key", f"{method_id}: {error}")
    return public_key, controller, None


def bare_did_key(method_id) -> str | None:
    """The key's DID URL when `method_id` is a did:key without a fragment (some issuers write the
    DID alone; a did:key has one key, so it names that key), else None."""
    if isinstance(method_id, str) and method_id.startswith("did:key:z") and "#" not in method_id \
            and "/" not in method_id and "?" not in method_id:
        return f"{method_id}#{method_id.removeprefix('did:key:')}"
    return None


def check_issuer(credential: dict, proof: dict, resolver: DidResolver) -> tuple[CheckResult, object | None]:
    key_url = bare_did_key(proof.get("verificationMethod"))
    if key_url is not None:
        proof = {**proof, "verificationMethod": key_url}
    public_key, controller, failure = authorized_key(proof, resolver, check="issuer", purpose="assertionMethod")
    if failure:
        return failure, None
    if controller != issuer_id(credential):
        return CheckResult.failed(
            "issuer", "issuer_key_mismatch",
            f"the key's controller {controller} is not the issuer {issuer_id(credential)}",
        ), public_key
    if key_url is not None:
        return CheckResult("issuer", WARNING, "verification_method_without_fragment",
                           f"the proof names the DID {controller} alone, read as its one key {key_url}, "
                           "a key of the issuer"), public_key
    return CheckResult.passed("issuer", f"signed with {proof['verificationMethod']}, a key of the issuer"), public_key


def _objects_or_ids(value) -> list:
    """A DID document's list member as a list of objects and strings; anything else is ignored."""
    items = value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, (dict, str))]


def _absolute(reference, controller: str):
    return f"{controller}{reference}" if isinstance(reference, str) and reference.startswith("#") else reference
