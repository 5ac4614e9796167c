"""Helpers shared by the verifier's end-to-end tests: did:key signers made fresh in the test,
Open Badges credentials signed with them, signed status list credentials, and a library
Verifier wired like the app's (the real fetcher, loopback HTTP allowed)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import (
    StaticDocumentLoader,
    add_proof,
    bundled_document_loader,
    did_key_from_ed25519,
)
from verifier import Policy, Verifier
from verifier.fetcher import Fetcher, FetchPolicy
from verifier.resolvers import ResolutionError, Resolver
from verifier.statuslist import MIN_LENGTH_BYTES, encode_status_list, set_bit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
SIGNED_AT = "2026-11-01T09:00:00Z"
VC2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# Contexts the W3C vectors use that we do not ship (tests/fixtures/contexts/).
EXAMPLE_CONTEXTS = {
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.json",
    "https://w3id.org/citizenship/v4rc1": "citizenship-v4rc1.json",
}


class DidKey:
    """An Ed25519 did:key made for the test; a `dataintegrity.Signer` for its one key."""

    algorithm = "Ed25519"

    def __init__(self, seed: int | None = None):
        self._key = (Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32) if seed is not None
                     else Ed25519PrivateKey.generate())
        self.did = did_key_from_ed25519(self._key.public_key().public_bytes_raw())
        self.verification_method = f"{self.did}#{self.did.removeprefix('did:key:')}"

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class Documents:
    """A DID resolver over fixed documents (what did:web would fetch); returns copies."""

    def __init__(self, *documents: dict):
        self.documents = {d["id"]: d for d in documents}

    def resolve(self, did: str) -> dict:
        if did not in self.documents:
            raise ResolutionError(f"{did} is unknown")
        return copy.deepcopy(self.documents[did])


def loader() -> StaticDocumentLoader:
    return bundled_document_loader()


def loader_with_examples() -> StaticDocumentLoader:
    extra = {url: json.loads((FIXTURES / "contexts" / name).read_text(encoding="utf-8"))
             for url, name in EXAMPLE_CONTEXTS.items()}
    return bundled_document_loader().with_documents(extra)


def library_verifier(clock=lambda: NOW, *, trusted_issuers=None, document_loader=None, **policy) -> Verifier:
    """The library Verifier as `badges verify --allow-http-loopback` builds it, at a fixed time."""
    fetcher = Fetcher(FetchPolicy(allow_http_loopback=True), clock=clock)
    return Verifier(
        document_loader=document_loader or loader(),
        resolver=Resolver.through(fetcher),
        clock=clock,
        policy=Policy(trusted_issuers=trusted_issuers, **policy),
        fetcher=fetcher,
    )


def unsigned_credential(issuer: str, *, name: str = "Teamwork", **changes) -> dict:
    credential = {
        "@context": [VC2, OB],
        "id": f"https://badges.test/credentials/{uuid.uuid5(uuid.NAMESPACE_URL, issuer + name)}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Test Issuer"},
        "name": name,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-06-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://badges.test/achievements/1", "type": ["Achievement"], "name": name,
                "description": "Works well in a team", "criteria": {"narrative": "Led a project"},
            },
        },
    }
    credential.update(changes)
    return {key: value for key, value in credential.items() if value is not None}


def sign(document: dict, signer, *, created: str = SIGNED_AT, proof_purpose: str = "assertionMethod") -> dict:
    return add_proof(document, signer=signer, created=created, document_loader=loader(), proof_purpose=proof_purpose)


def signed_credential(signer: DidKey, **changes) -> dict:
    return sign(unsigned_credential(signer.did, **changes), signer)


def sign_with_options(document: dict, signer, *, proof_purpose: str, created: str = SIGNED_AT, **options) -> dict:
    """A Data Integrity proof with proof options (challenge, domain)."""
    return add_proof(document, signer=signer, created=created, document_loader=loader(),
                     proof_purpose=proof_purpose, **options)


def status_entry(url: str, index: int, purpose: str = "revocation") -> dict:
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": url}


def status_list_credential(signer: DidKey, url: str, purpose: str, *set_indices: int) -> dict:
    bits = bytearray(MIN_LENGTH_BYTES)
    for index in set_indices:
        set_bit(bits, index)
    return sign({
        "@context": [VC2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": signer.did,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode_status_list(bits)},
    }, signer)


def summary(report) -> list[tuple]:
    """(check, status, code) of every check: what a reader of the report sees, without messages."""
    data = report if isinstance(report, dict) else report.to_dict()
    return [(c["check"], c["status"], c.get("code")) for c in data["checks"]]


def check_of(report, name: str) -> dict:
    data = report if isinstance(report, dict) else report.to_dict()
    found = [c for c in data["checks"] if c["check"] == name]
    assert len(found) == 1, (name, data["checks"])
    return found[0]
