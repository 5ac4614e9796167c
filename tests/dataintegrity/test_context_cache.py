"""The shared cache of processed bundled contexts (dataintegrity.contextcache) changes no answer.

The reference for every output is canonicalization as it was before the cache: pyld's expand and
to_rdf with a fresh ContextResolver per call, then our RDFC-1.0.
"""

from __future__ import annotations

import copy
import random
import sys
import threading

import pytest
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from dataintegrity import (
    BUNDLED_CONTEXT_URLS,
    DataIntegrityError,
    DocumentLoaderError,
    SafeModeError,
    StaticDocumentLoader,
    add_proof,
    bundled_document_loader,
    canonicalize,
    expand,
    verify_proof,
)
from dataintegrity.contextcache import ContextCache, _fingerprint, default_context_cache
from dataintegrity.rdfc import canonicalize_dataset

from .conftest import VECTOR_FILES, load_vector

canonicalize_module = sys.modules["dataintegrity.canonicalize"]  # the package's name is the function

VC2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
EXTRA = "https://contexts.example/extra/v1"
BUNDLED = bundled_document_loader()


def _options(loader) -> dict:
    return {"documentLoader": loader, "contextResolver": ContextResolver({}, loader), "base": None,
            "processingMode": "json-ld-1.1"}


def reference(document: dict, loader) -> str:
    """Canonical N-Quads the way canonicalize() computed them before the cache (safe mode aside)."""
    expanded = jsonld.expand(copy.deepcopy(document), _options(loader))
    return canonicalize_dataset(jsonld.to_rdf(expanded, _options(loader)))


def ob_credential(n: int = 0) -> dict:
    """A typical Open Badges 3.0 credential (type-scoped contexts on most nodes); ``n`` varies it."""
    issuer = {"id": "did:web:badges.example:issuers:acme", "type": ["Profile"], "name": "Acme Academy",
              "url": "https://acme.example"}
    return {
        "@context": [VC2, OB, OB_EXTENSIONS],
        "id": f"https://badges.example/credentials/{n}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Python Basics",
        "issuer": issuer,
        "validFrom": "2026-11-25T12:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": f"sha256${n:064x}",
                            "identityType": "emailAddress", "hashed": True, "salt": "fixed-salt"}],
            "achievement": {
                "id": "https://badges.example/achievements/5f0c",
                "type": ["Achievement"],
                "name": "Python Basics",
                "description": "Writes, runs and tests small Python programs.",
                "criteria": {"narrative": "Score at least 70 out of 100."},
                "achievementType": "Badge",
                "alignment": [{"type": ["Alignment"], "targetName": "Python",
                               "targetUrl": "https://esco.example/skill/python", "targetFramework": "ESCO"}],
                "tag": ["python", "programming"],
                "creator": issuer,
                "resultDescription": [{"id": "https://badges.example/achievements/5f0c#score",
                                       "type": ["ResultDescription"], "name": "Score", "resultType": "RawScore",
                                       "valueMin": "0", "valueMax": "100", "requiredValue": "70"}],
            },
            "result": [{"type": ["Result"], "resultDescription": "https://badges.example/achievements/5f0c#score",
                        "value": str(50 + n)}],
        },
        "evidence": [{"type": ["Evidence"], "id": "https://lms.example/attempts/1", "name": "Exam attempt"}],
    }


def inline_context_document() -> dict:
    """Bundled contexts followed by an inline one, and a node with its own inline context."""
    return {
        "@context": [VC2, {"colour": "https://vocab.example/colour"}],
        "type": ["VerifiableCredential"],
        "issuer": "https://issuer.example",
        "colour": "blue",
        "credentialSubject": {"@context": {"size": "https://vocab.example/size"}, "id": "urn:x:1", "size": "L"},
    }


def extra_document() -> dict:
    return {"@context": [VC2, EXTRA], "type": ["VerifiableCredential"], "issuer": "https://issuer.example",
            "credentialSubject": {"id": "urn:x:2", "favourite": "tea"}}


def extra_loader(iri: str) -> StaticDocumentLoader:
    return BUNDLED.with_documents({EXTRA: {"@context": {"favourite": iri}}})


def documents(vector_loader) -> list[tuple[str, dict, object]]:
    """(name, document, loader): a mix of what canonicalize() meets."""
    cases = [(f"ob-{n}", ob_credential(n), BUNDLED) for n in range(3)]
    cases.append(("ob-proof-config", {"@context": [VC2, OB, OB_EXTENSIONS], "type": "DataIntegrityProof",
                                      "cryptosuite": "eddsa-rdfc-2022", "created": "2026-11-25T12:00:00Z",
                                      "verificationMethod": "did:web:badges.example#key-1",
                                      "proofPurpose": "assertionMethod"}, BUNDLED))
    cases.append(("inline", inline_context_document(), BUNDLED))
    cases.append(("extra-a", extra_document(), extra_loader("https://a.example/favourite")))
    cases.append(("extra-b", extra_document(), extra_loader("https://b.example/favourite")))
    for name in VECTOR_FILES:
        vector = load_vector(name)
        cases.append((name, vector["unsigned_document"], vector_loader))
    return cases


@pytest.fixture
def cold():
    """An empty memo before and after the test."""
    default_context_cache().clear()
    yield default_context_cache()
    default_context_cache().clear()


def test_cold_and_warm_give_the_reference_output(cold, document_loader):
    for name, document, loader in documents(document_loader):
        expected = reference(document, loader)
        cold.clear()
        assert canonicalize(document, document_loader=loader) == expected, name
        assert canonicalize(document, document_loader=loader) == expected, name  # warm


def test_expand_is_unchanged_by_the_cache(cold):
    document = ob_credential()
    expected = jsonld.expand(copy.deepcopy(document), _options(BUNDLED))
    assert expand(document, document_loader=BUNDLED) == expected
    assert expand(document, document_loader=BUNDLED) == expected


def test_the_typical_credential_uses_the_memo(cold):
    canonicalize(ob_credential(), document_loader=BUNDLED)
    entries = len(cold)
    assert entries > 0
    canonicalize(ob_credential(1), document_loader=BUNDLED)
    assert len(cold) == entries  # nothing new to process for a credential of the same shape


def test_a_non_bundled_context_is_read_from_each_loader(cold):
    document = extra_document()
    outputs = {}
    for iri in ["https://a.example/favourite", "https://b.example/favourite", "https://a.example/favourite"]:
        loader = extra_loader(iri)
        output = canonicalize(document, document_loader=loader)
        assert f"<{iri}>" in output
        assert output == reference(document, loader)
        outputs.setdefault(iri, output)
    assert len(set(outputs.values())) == 2
    with pytest.raises(DocumentLoaderError, match="contexts.example"):
        canonicalize(document, document_loader=BUNDLED)  # the bundled loader refuses it, warm or not


def test_a_loader_that_serves_other_bytes_for_a_bundled_url_is_not_trusted(cold):
    canonicalize(ob_credential(), document_loader=BUNDLED)  # warm
    changed = copy.deepcopy(BUNDLED(OB)["document"])
    changed["@context"]["Achievement"]["@context"]["achievementType"]["@id"] = "https://changed.example/type"
    loader = BUNDLED.with_documents({OB: changed})
    assert OB not in default_context_cache().trusted_urls(loader)
    assert VC2 in default_context_cache().trusted_urls(loader)
    output = canonicalize(ob_credential(), document_loader=loader)
    assert "<https://changed.example/type>" in output
    assert output == reference(ob_credential(), loader)
    assert canonicalize(ob_credential(), document_loader=BUNDLED) == reference(ob_credential(), BUNDLED)


def test_a_true_that_equals_1_is_not_the_same_bytes(cold):
    changed = copy.deepcopy(BUNDLED(VC2)["document"])
    assert changed["@context"]["@protected"] is True
    changed["@context"]["@protected"] = 1  # == True in Python, not the same JSON
    assert VC2 not in default_context_cache().trusted_urls(BUNDLED.with_documents({VC2: changed}))


def test_only_static_loaders_are_trusted(cold):
    def plain_loader(url, options=None):
        return BUNDLED(url, options)

    class Sub(StaticDocumentLoader):
        __slots__ = ()

    assert default_context_cache().trusted_urls(plain_loader) == frozenset()
    assert default_context_cache().trusted_urls(Sub({OB: BUNDLED(OB)["document"]})) == frozenset()
    assert default_context_cache().trusted_urls(BUNDLED) == BUNDLED_CONTEXT_URLS
    document = ob_credential()
    assert canonicalize(document, document_loader=plain_loader) == reference(document, BUNDLED)


def test_import_does_not_touch_the_shared_documents(cold):
    cache = default_context_cache()
    before = {url: _fingerprint(doc) for url, doc in cache._documents.items()}
    document = {
        "@context": [{"@version": 1.1, "@import": VC2, "colour": "https://vocab.example/colour"}],
        "type": ["VerifiableCredential"], "issuer": "https://issuer.example", "colour": "red",
        "credentialSubject": {"id": "urn:x:3"},
    }
    importer = "https://contexts.example/importer"
    loader = BUNDLED.with_documents({importer: {"@context": document["@context"][0]}})
    remote = {**document, "@context": [VC2, importer]}  # the @import is in a loaded, non-bundled context
    for _ in range(2):
        assert canonicalize(document, document_loader=BUNDLED) == reference(document, BUNDLED)
        assert canonicalize(remote, document_loader=loader) == reference(remote, loader)
        assert canonicalize(ob_credential(), document_loader=BUNDLED) == reference(ob_credential(), BUNDLED)
    assert {url: _fingerprint(doc) for url, doc in cache._documents.items()} == before
    assert all(_fingerprint(BUNDLED(url)["document"]) == fp for url, fp in before.items())


def _outcome(document: dict, loader) -> str:
    try:
        return canonicalize(document, document_loader=loader)
    except DataIntegrityError as error:
        return f"{type(error).__name__}: {error}"


def test_too_many_context_urls_fail_as_in_pyld(cold):
    # pyld refuses to fetch more than 10 context URLs for one @context; memo hits must not skip that
    urls = sorted(BUNDLED_CONTEXT_URLS)
    others = [f"https://contexts.example/{n}" for n in range(12)]
    loader = BUNDLED.with_documents({url: {"@context": {}} for url in others})
    for contexts in [others, [*urls[:6], *others[:6]], urls[:12]]:
        document = {"@context": contexts, "@id": "urn:x"}
        with pytest.raises(jsonld.JsonLdError) as expected:
            reference(document, loader)
        assert "Maximum number of @context URLs exceeded" in str(expected.value.__cause__ or expected.value)
        for _ in range(3):
            assert "Maximum number of @context URLs exceeded" in _outcome(document, loader)


def test_safe_mode_still_refuses_with_a_warm_cache(cold, make_signer):
    credential = ob_credential()
    canonicalize(credential, document_loader=BUNDLED)  # warm
    assert len(cold) > 0
    top = copy.deepcopy(credential)
    top["colour"] = "blue"
    with pytest.raises(SafeModeError, match="'colour'"):
        canonicalize(top, document_loader=BUNDLED)
    nested = copy.deepcopy(credential)
    nested["credentialSubject"]["achievement"]["achievementColour"] = "blue"  # inside a type-scoped context
    with pytest.raises(SafeModeError, match="'achievementColour'"):
        canonicalize(nested, document_loader=BUNDLED)
    relative = copy.deepcopy(credential)
    relative["credentialSubject"]["achievement"]["type"] = ["Achievement", "NoSuchType"]
    with pytest.raises(SafeModeError, match="NoSuchType"):
        canonicalize(relative, document_loader=BUNDLED)
    signer = make_signer(bytes(32), "did:web:badges.example#key-1")
    secured = add_proof(credential, signer=signer, created="2026-11-25T12:00:00Z", document_loader=BUNDLED)
    assert verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=BUNDLED)
    secured["credentialSubject"]["achievement"]["achievementColour"] = "blue"
    result = verify_proof(secured, secured["proof"], public_key=signer.public_key, document_loader=BUNDLED)
    assert (result.verified, result.code) == (False, "undefined_term")


def test_a_full_memo_starts_afresh(cold, monkeypatch, document_loader):
    small = ContextCache({url: BUNDLED(url)["document"] for url in BUNDLED.urls})
    monkeypatch.setattr("dataintegrity.contextcache.MAX_ENTRIES", 3)
    monkeypatch.setattr(canonicalize_module, "default_context_cache", lambda: small)
    for name, document, loader in documents(document_loader) * 2:
        assert canonicalize(document, document_loader=loader) == reference(document, loader), name
        assert len(small) <= 3


def test_threads_give_the_serial_answers(cold, document_loader):
    cases = documents(document_loader)
    failing = copy.deepcopy(ob_credential())
    failing["credentialSubject"]["achievement"]["achievementColour"] = "blue"
    cases.append(("safe-mode", failing, BUNDLED))
    cases.append(("refused", extra_document(), BUNDLED))
    serial = {name: _outcome(document, loader) for name, document, loader in cases}
    assert serial["safe-mode"].startswith("SafeModeError")
    assert serial["refused"].startswith("DocumentLoaderError")

    threads_count, rounds = 16, 4
    mismatches: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_count)

    def work(seed: int) -> None:
        order = random.Random(seed).sample(cases, len(cases))
        try:
            barrier.wait()
            for name, document, loader in order:
                outcome = _outcome(document, loader)
                if outcome != serial[name]:
                    mismatches.append((seed, name))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, to interleave inside pyld
    try:
        for round_ in range(rounds):
            if round_ % 2 == 0:
                default_context_cache().clear()  # cold rounds race on filling the memo
            workers = [threading.Thread(target=work, args=(round_ * 100 + n,)) for n in range(threads_count)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    assert not mismatches


def _plain(value):
    """A comparable snapshot of a (frozen) active context: dicts, lists and scalars, by value."""
    if hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def test_memoized_contexts_are_never_changed(cold, document_loader):
    cases = documents(document_loader)
    for _, document, loader in cases:
        _outcome(document, loader)
    snapshot = {key: _plain(value) for key, value in cold._memo.items()}
    assert snapshot
    for _, document, loader in cases * 2:
        _outcome(document, loader)
    assert {key: _plain(value) for key, value in cold._memo.items() if key in snapshot} == snapshot
