"""Attacks found in review: each one verified before its fix, and must not again."""

from __future__ import annotations

import pytest

from tests.verifier.support import (
    NOW, DidKey, Documents, check_of, library_verifier, loader, sign, signed_credential, status_entry,
    status_list_credential, unsigned_credential,
)
from tests.verifier.test_fetcher import LocalServer
from verifier import Policy, Verifier
from verifier.resolvers import Resolver, ResolutionError



def did_document(did: str, key: DidKey, *, controller: str | None = None, embedded: bool = False) -> dict:
    method = {"id": f"{did}#k", "type": "Multikey", "controller": controller or did,
              "publicKeyMultibase": key.did.removeprefix("did:key:")}
    if embedded:
        return {"id": did, "assertionMethod": [method]}
    return {"id": did, "verificationMethod": [method], "assertionMethod": [method["id"]]}


class WebSigner:
    """`key`, presented as the verification method did:web:...#k."""

    algorithm = "Ed25519"

    def __init__(self, did: str, key: DidKey):
        self.verification_method, self._key = f"{did}#k", key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def verifier_with(*documents) -> Verifier:
    return Verifier(loader(), Documents(*documents), lambda: NOW, Policy())


def test_a_key_document_cannot_sign_for_another_issuer():
    """evil's DID document lists its key with controller = the victim; the credential names the victim."""
    key = DidKey(seed=7)
    victim, evil = "did:web:victim.example", "did:web:evil.example"
    credential = sign(unsigned_credential(victim), WebSigner(evil, key))
    report = verifier_with(did_document(evil, key, controller=victim)).verify_credential(credential).to_dict()
    assert report["verified"] is False
    assert (check_of(report, "issuer")["status"], check_of(report, "issuer")["code"]) == ("failed", "key_not_authorized")


def test_a_key_embedded_under_assertion_method_is_found():
    key = DidKey(seed=8)
    issuer = "did:web:issuer.example"
    credential = sign(unsigned_credential(issuer), WebSigner(issuer, key))
    report = verifier_with(did_document(issuer, key, embedded=True)).verify_credential(credential)
    assert report.verified, report.to_dict()


@pytest.mark.parametrize("broken", [
    {"verificationMethod": 5},
    {"verificationMethod": ["x", 5, None]},
    {"assertionMethod": [5, None]},
    {"assertionMethod": "did:web:issuer.example#k"},
])
def test_malformed_did_documents_are_reported_not_raised(broken):
    key = DidKey(seed=9)
    issuer = "did:web:issuer.example"
    credential = sign(unsigned_credential(issuer), WebSigner(issuer, key))
    document = {**did_document(issuer, key), **broken}
    report = verifier_with(document).verify_credential(credential).to_dict()
    assert report["verified"] is False
    assert check_of(report, "issuer")["status"] == "failed"


def test_too_many_proofs_are_refused_before_any_resolution():
    key = DidKey(seed=10)
    credential = signed_credential(key)
    credential["proof"] = [credential["proof"]] * 50
    report = library_verifier().verify_credential(credential).to_dict()
    assert (check_of(report, "proof")["status"], check_of(report, "proof")["code"]) == ("failed", "too_many_proofs")


def test_a_status_list_of_another_issuer_is_refused():
    """A list that verifies on its own, but signed by someone other than the credential's issuer."""
    server = LocalServer()
    try:
        issuer, stranger = DidKey(seed=11), DidKey(seed=12)
        url = server.url("/revocation")
        server.json("/revocation", status_list_credential(stranger, url, "revocation"))
        credential = signed_credential(issuer, credentialStatus=[status_entry(url, 5)])
        report = library_verifier().verify_credential(credential).to_dict()
    finally:
        server.close()
    status = check_of(report, "status")
    assert (status["status"], status["code"]) == ("failed", "status_list_invalid")
    assert "not by the credential's issuer" in status["message"]


def test_resolvers_made_through_a_fetcher_fetch_within_the_verification_budget():
    class Recorder:
        def __init__(self):
            self.urls = []

        def fetch_json(self, url):
            self.urls.append(url)
            raise OSError("offline")

    shared, budget = Recorder(), Recorder()
    resolver = Resolver.through(shared).bounded(budget.fetch_json)
    with pytest.raises(ResolutionError):
        resolver.resolve("did:web:issuer.example")
    assert budget.urls == ["https://issuer.example/.well-known/did.json"] and shared.urls == []
    # A resolver over the caller's own function is left as it is.
    own = Recorder()
    assert Resolver(own.fetch_json).bounded(budget.fetch_json).resolve is not None
    with pytest.raises(ResolutionError):
        Resolver(own.fetch_json).bounded(budget.fetch_json).resolve("did:web:x.example")
    assert own.urls == ["https://x.example/.well-known/did.json"]


def test_deeply_nested_presentation_is_a_report_not_a_crash():
    nested: dict = {"deeper": "bottom"}
    for _ in range(2000):
        nested = {"deeper": nested}
    presentation = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
                    "holder": nested}
    result = library_verifier().verify_presentation(presentation, challenge=None, domain=None)
    assert result["verified"] is False
    assert result["presentation"]["checks"][0]["code"] == "json_too_deep"


def test_a_server_dripping_headers_is_cut_off_at_the_read_timeout():
    """Each header line arrives within the socket timeout, but the headers never end."""
    import socket
    import threading
    import time

    from verifier.fetcher import Fetcher, FetchPolicy, FetchTimeout

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    sent = []

    def drip():
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                try:
                    connection.sendall(b"X-Slow: 1\r\n")
                    sent.append(1)
                except OSError:
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    fetcher = Fetcher(FetchPolicy(allow_http_loopback=True, read_timeout=1.0))
    try:
        with pytest.raises(FetchTimeout):
            fetcher.fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/drip")
        cut_off_after = len(sent)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    # Cut off by the deadline, long before the 100 header lines after which http.client itself
    # would give up (with another error, after 20 s).
    assert cut_off_after < 100
