"""Public key documents: Multikey verification methods and did:web DID documents."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlsplit

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"


def did_web_for(base_url: str, *path: str) -> str:
    """`did:web:<host>[%3A<port>]:<path...>` for a document served under `base_url`.

    The did:web method encodes the port's colon as %3A; path segments become colon-separated.
    """
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise ValueError(f"base URL {base_url!r} has no host")
    host = quote(parts.netloc, safe="")
    segments = [s for s in parts.path.split("/") if s] + list(path)
    return ":".join(["did:web", host, *(quote(s, safe="") for s in segments)])


def multikey_verification_method(controller: str, fragment: str, public_key_multibase: str) -> dict:
    return {
        "id": f"{controller}#{fragment}",
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_key_multibase,
    }


def did_web_document(did: str, verification_methods: Iterable[dict]) -> dict:
    """A DID document listing every key, current and retired, under `assertionMethod`.

    Retired keys stay listed so credentials they signed keep verifying; only the issuer's
    current key signs new credentials.
    """
    methods = list(verification_methods)
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }
