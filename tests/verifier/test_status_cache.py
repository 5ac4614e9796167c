"""Status list credentials are verified once per content version: a verifier with a
StatusListCache checks a list's signature the first time it sees that exact list, and then only
looks up bits, while the list's validity window, its issuer's key and any change still count."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.conftest import Clock
from tests.verifier.support import (
    NOW,
    DidKey,
    Documents,
    loader,
    sign,
    signed_credential,
    status_entry,
    status_list_credential,
    unsigned_credential,
)
from verifier import Verifier
from verifier.resolvers import Resolver
from verifier.statuscache import StatusListCache, content_version

LIST_URL = "https://lists.test/status/1"
REVOKED = 42


class CountingLoader:
    """The bundled contexts, counting every load: each canonicalization loads its contexts again
    (a loader the shared context cache does not know), so loads count signature checks."""

    def __init__(self):
        self._loader = loader()
        self.loads = 0

    def __call__(self, url, options=None):
        self.loads += 1
        return self._loader(url, options)


class Lists:
    """`local_documents`: status lists as a host would serve them, changeable by the test."""

    def __init__(self):
        self.documents: dict[str, dict] = {}

    def __call__(self, url: str) -> dict | None:
        document = self.documents.get(url)
        return copy.deepcopy(document) if document is not None else None


@pytest.fixture
def alice() -> DidKey:
    return DidKey(seed=21)


@pytest.fixture
def lists(alice) -> Lists:
    served = Lists()
    served.documents[LIST_URL] = status_list_credential(alice, LIST_URL, "revocation", REVOKED)
    return served


def make_verifier(lists, *, clock=lambda: NOW, document_loader=None, resolver=None, cache=None) -> Verifier:
    return Verifier(document_loader or loader(), resolver or Resolver(), clock, local_documents=lists,
                    status_list_cache=cache if cache is not None else StatusListCache())


def on_list(signer: DidKey, index: int, name: str = "Teamwork") -> dict:
    return signed_credential(signer, name=name, credentialStatus=status_entry(LIST_URL, index))


def status_of(report) -> tuple:
    check = report.check("status")
    return report.verified, check.status, check.code


def test_a_list_is_verified_once_then_each_credential_is_a_bit_lookup(alice, lists):
    counting = CountingLoader()
    cache = StatusListCache()
    verifier = make_verifier(lists, document_loader=counting, cache=cache)
    plain = signed_credential(alice, name="No status")
    verifier.verify_credential(plain)
    loads_without_status, counting.loads = counting.loads, 0

    assert status_of(verifier.verify_credential(on_list(alice, 7, "first"))) == (True, "passed", None)
    assert counting.loads > loads_without_status  # the list's signature was checked
    assert len(cache) == 1
    for index, name in [(8, "second"), (REVOKED, "revoked"), (9, "third")]:
        counting.loads = 0
        report = verifier.verify_credential(on_list(alice, index, name))
        assert counting.loads == loads_without_status, "the list was verified again"
        assert status_of(report) == ((False, "failed", "revoked") if index == REVOKED else (True, "passed", None))
    assert len(cache) == 1


def test_answers_are_those_of_a_verifier_without_cache(alice, lists):
    credentials = [on_list(alice, index, f"badge {index}") for index in (1, REVOKED, 2, REVOKED, 3)]
    cached = make_verifier(lists)
    uncached = Verifier(loader(), Resolver(), lambda: NOW, local_documents=lists)
    for credential in credentials + credentials:
        assert cached.verify_credential(credential).to_dict() == uncached.verify_credential(credential).to_dict()


def test_a_changed_list_is_verified_again(alice, lists):
    cache = StatusListCache()
    verifier = make_verifier(lists, cache=cache)
    credential = on_list(alice, 5)
    assert status_of(verifier.verify_credential(credential)) == (True, "passed", None)
    lists.documents[LIST_URL] = status_list_credential(alice, LIST_URL, "revocation", REVOKED, 5)
    assert status_of(verifier.verify_credential(credential)) == (False, "failed", "revoked")
    assert len(cache) == 2


def test_a_list_whose_proof_fails_is_never_cached(alice, lists):
    cache = StatusListCache()
    verifier = make_verifier(lists, cache=cache)
    forged = copy.deepcopy(lists.documents[LIST_URL])
    forged["credentialSubject"]["encodedList"] = status_list_credential(
        alice, LIST_URL, "revocation")["credentialSubject"]["encodedList"]  # REVOKED cleared, signature kept
    lists.documents[LIST_URL] = forged
    revoked = on_list(alice, REVOKED)
    for _ in range(3):
        assert status_of(verifier.verify_credential(revoked)) == (False, "failed", "status_list_invalid")
    assert len(cache) == 0


def test_a_list_signed_by_someone_else_is_refused_though_it_is_cached(alice, lists):
    verifier = make_verifier(lists)
    assert verifier.verify_credential(on_list(alice, 5)).verified
    mallory = DidKey(seed=22)
    # The cached list is alice's; a credential of mallory naming it must not borrow it.
    report = verifier.verify_credential(on_list(mallory, 5))
    assert status_of(report) == (False, "failed", "status_list_invalid")


def test_the_validity_window_applies_at_each_use(alice, lists):
    clock = Clock(NOW)
    document = status_list_credential(alice, LIST_URL, "revocation", REVOKED)
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    unsigned["validUntil"] = "2026-11-25T13:00:00Z"
    lists.documents[LIST_URL] = sign(unsigned, alice)
    verifier = make_verifier(lists, clock=clock)
    credential = on_list(alice, 5)
    assert status_of(verifier.verify_credential(credential)) == (True, "passed", None)
    clock.advance(hours=1)
    assert status_of(verifier.verify_credential(credential)) == (False, "failed", "status_list_expired")


def test_a_key_the_issuer_withdrew_no_longer_vouches_for_a_cached_list():
    signer = DidKey(seed=23)
    did = "did:web:lists.test"
    method = {"id": f"{did}#key-1", "type": "Multikey", "controller": did,
              "publicKeyMultibase": signer.did.removeprefix("did:key:")}
    documents = Documents({"@context": ["https://www.w3.org/ns/did/v1"], "id": did,
                           "verificationMethod": [method], "assertionMethod": [method["id"]]})

    class WebSigner:
        algorithm = "Ed25519"
        verification_method = method["id"]

        def sign(self, data: bytes) -> bytes:
            return signer.sign(data)

    web = WebSigner()
    served = Lists()
    unsigned_list = {key: value for key, value in status_list_credential(signer, LIST_URL, "revocation").items()
                     if key != "proof"}
    served.documents[LIST_URL] = sign({**unsigned_list, "issuer": did}, web)
    verifier = make_verifier(served, resolver=documents)
    credential = sign(unsigned_credential(did, credentialStatus=status_entry(LIST_URL, 5)), web)
    assert verifier.verify_credential(credential).verified

    documents.documents[did] = {**documents.documents[did], "assertionMethod": []}
    report = verifier.verify_credential(sign(unsigned_credential(did, name="Other", credentialStatus=status_entry(LIST_URL, 6)), signer))
    assert status_of(report) == (False, "failed", "status_list_invalid")


def test_the_cache_is_bounded():
    cache = StatusListCache(max_lists=2)
    for n in range(5):
        cache.remember(f"version-{n}", b"key")
    assert len(cache) == 2
    assert cache.verified_key("version-0") is None and cache.verified_key("version-4") == b"key"

    small = StatusListCache(max_bytes=40_000)  # room for two decoded lists of 16 KiB
    encoded = status_list_credential(DidKey(seed=24), LIST_URL, "revocation")["credentialSubject"]["encodedList"]
    for n in range(4):
        small.remember(f"v{n}", b"key")
        assert len(small.bits(f"v{n}", encoded)) == 16_384
    assert small.size_bytes <= 40_000 and len(small) == 2


def test_the_content_version_sees_any_change(alice, lists):
    document = lists.documents[LIST_URL]
    changed = copy.deepcopy(document)
    changed["credentialSubject"]["ttl"] = 300_000
    reordered = dict(reversed(list(document.items())))
    assert content_version(document) == content_version(reordered)
    assert content_version(document) != content_version(changed)


def test_many_threads_share_one_cache(alice, lists):
    verifier = make_verifier(lists)
    credentials = [on_list(alice, index, f"badge {index}") for index in range(30)] + [on_list(alice, REVOKED, "revoked")]
    alone = [make_verifier(lists).verify_credential(c).verified for c in credentials]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda c: verifier.verify_credential(c).verified, credentials * 4))
    assert answers == alone * 4
    assert alone.count(False) == 1


def test_a_list_signed_a_moment_after_the_verification_began_is_used():
    """The service signs a changed list during the verification that reads it: its validFrom is a
    moment past the verifier's now, well within the allowed clock skew."""
    signer = DidKey(seed=25)
    served = Lists()
    unsigned_list = {key: value for key, value in status_list_credential(signer, LIST_URL, "revocation").items()
                     if key != "proof"}
    moment_later = (NOW + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    served.documents[LIST_URL] = sign({**unsigned_list, "validFrom": moment_later}, signer)
    verifier = make_verifier(served)
    assert status_of(verifier.verify_credential(on_list(signer, 5))) == (True, "passed", None)


def test_the_issuer_is_resolved_once_per_verification_and_again_at_the_next(alice, lists):
    class CountingResolver(Resolver):
        calls: list[str] = []

        def resolve(self, did: str) -> dict:
            self.calls.append(did)
            return super().resolve(did)

    resolver = CountingResolver()
    lists.documents[LIST_URL + "s"] = status_list_credential(alice, LIST_URL + "s", "suspension")
    credential = signed_credential(alice, credentialStatus=[status_entry(LIST_URL, 5),
                                                            status_entry(LIST_URL + "s", 5, "suspension")])
    for uncached in (True, False):  # the lists verified in full, then from the cache
        verifier = make_verifier(lists, resolver=resolver)
        if not uncached:
            verifier.verify_credential(credential)
        resolver.calls.clear()
        assert verifier.verify_credential(credential).verified
        assert resolver.calls == [alice.did]
        assert verifier.verify_credential(credential).verified
        assert resolver.calls == [alice.did, alice.did]
