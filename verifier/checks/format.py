"""`format`: a JSON object shaped like a credential with a proof."""

from __future__ import annotations

from verifier.report import CheckResult

VC_CONTEXTS = ("https://www.w3.org/ns/credentials/v2", "https://www.w3.org/2018/credentials/v1")


def check_format(credential) -> CheckResult:
    if not isinstance(credential, dict):
        return CheckResult.failed("format", "not_an_object", "the credential is not a JSON object")
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first not in VC_CONTEXTS:
        return CheckResult.failed("format", "no_vc_context", "the first @context is not the Verifiable Credentials context")
    types = credential.get("type")
    types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    if "VerifiableCredential" not in types:
        return CheckResult.failed("format", "not_a_credential", "type does not include VerifiableCredential")
    if not credential.get("proof"):
        return CheckResult.failed("format", "no_proof", "the credential carries no proof")
    return CheckResult.passed("format", "a JSON-LD verifiable credential with a proof")
