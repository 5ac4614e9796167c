"""`context`: the credential uses only contexts we hold, the VC context first.

A context we do not hold cannot be processed offline, and fetching it would let whoever serves
it change what the credential means; so an unknown context fails here, with its URL.
"""

from __future__ import annotations

from dataintegrity import DataIntegrityError, StaticDocumentLoader
from verifier.checks.format import VC_CONTEXTS
from verifier.report import CheckResult


def check_context(credential: dict, *, document_loader) -> CheckResult:
    contexts = credential.get("@context")
    contexts = contexts if isinstance(contexts, list) else [contexts]
    if not contexts or contexts[0] not in VC_CONTEXTS:
        return CheckResult.failed("context", "no_vc_context", "the first @context must be the Verifiable Credentials context")
    checked = set()
    for context in contexts:
        if isinstance(context, dict):
            continue  # inline definitions are processed (in safe mode) with the document itself
        if not isinstance(context, str):
            return CheckResult.failed("context", "invalid_context", f"@context holds {type(context).__name__}, not a URL or object")
        if context in checked:
            continue  # a URL listed again (the proof check refuses that) is not loaded again
        checked.add(context)
        if not _holds(document_loader, context):
            return CheckResult.failed("context", "unknown_context", f"the context {context} is not one this verifier holds")
    return CheckResult.passed("context", "every context is known")


def _holds(document_loader, url: str) -> bool:
    """Whether the loader serves ``url``: asked of a StaticDocumentLoader without loading (a load
    copies the whole context document), of any other loader by loading it."""
    if type(document_loader) is StaticDocumentLoader:
        return url in document_loader
    try:
        document_loader(url, {})
    except DataIntegrityError:
        return False
    return True
