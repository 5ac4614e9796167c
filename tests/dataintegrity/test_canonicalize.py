"""Safe-mode expansion and canonicalization of JSON-LD documents."""

from __future__ import annotations

import copy

import pytest
from pyld import jsonld

from dataintegrity import (
    DocumentLoaderError,
    InvalidJsonLdError,
    SafeModeError,
    bundled_document_loader,
    canonicalize,
    expand,
)

VC2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


@pytest.fixture
def credential() -> dict:
    return {
        "@context": [VC2, OB],
        "id": "urn:uuid:4f4b2e52-52a5-4f0e-9b6c-0d7d3c5d1f00",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "https://issuer.example/profile", "type": ["Profile"], "name": "Example Issuer"},
        "validFrom": "2024-01-01T00:00:00Z",
        "name": "Badge",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://issuer.example/achievements/1",
                "type": ["Achievement"],
                "name": "Achievement",
                "description": "Described",
                "criteria": {"narrative": "Do it."},
            },
        },
    }


def test_expand_returns_expanded_form(credential):
    expanded = expand(credential, document_loader=bundled_document_loader())
    assert isinstance(expanded, list)
    assert expanded[0]["@id"] == credential["id"]


def test_canonicalize_does_not_mutate_input(credential):
    before = copy.deepcopy(credential)
    canonicalize(credential, document_loader=bundled_document_loader())
    assert credential == before


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d.update(colour="blue"), "colour"),  # a property no context defines
        (lambda d: d["credentialSubject"]["achievement"].update(critera="typo"), "critera"),  # inside a scoped context
        (lambda d: d.update(type=["VerifiableCredential", "UndefinedThing"]), "UndefinedThing"),
        (lambda d: d["issuer"].update(type=["Profile", "Organisation"]), "Organisation"),
        (lambda d: d.update(id="credentials/1"), "credentials/1"),  # relative @id
        (lambda d: d["credentialSubject"].update(id="did:example:x\n"), "did:example:x"),  # pyld's regex lets "\n" through
        (lambda d: d["@context"].append({"_:secret": {"@id": "_:secret"}}) or d.update({"_:secret": "x"}), "_:secret"),
    ],
)
def test_safe_mode_refuses_what_would_be_dropped(credential, edit, named):
    edit(credential)
    with pytest.raises(SafeModeError, match=named) as info:
        canonicalize(credential, document_loader=bundled_document_loader())
    assert info.value.code == "undefined_term"


def test_plain_pyld_would_sign_an_invented_iri_for_the_undefined_type(credential):
    # why safe mode exists: without it pyld 3.3 resolves the typo'd type against its made-up default
    # base ("http://example.org/base/") and that invented IRI is what would be signed
    credential["type"] = ["VerifiableCredential", "UndefinedThing"]
    nquads = jsonld.to_rdf(
        credential, {"documentLoader": bundled_document_loader(), "format": "application/n-quads"}
    )
    assert "UndefinedThing>" in nquads
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#UndefinedThing" not in nquads


def test_unknown_context_url(credential):
    credential["@context"].append("https://contexts.example/unknown.jsonld")
    with pytest.raises(DocumentLoaderError, match="https://contexts.example/unknown.jsonld") as info:
        canonicalize(credential, document_loader=bundled_document_loader())
    assert info.value.code == "unknown_context"


def test_protected_term_redefinition_is_invalid_jsonld(credential):
    credential["@context"].append({"name": "https://evil.example/name"})
    with pytest.raises(InvalidJsonLdError, match="protected term") as info:
        canonicalize(credential, document_loader=bundled_document_loader())
    assert info.value.code == "invalid_jsonld"


def test_expand_requires_a_dict():
    with pytest.raises(TypeError):
        expand([], document_loader=bundled_document_loader())


def test_control_characters_are_escaped_canonically(credential):
    credential["credentialSubject"]["achievement"]["description"] = "form\ffeed back\bspace tab\u000bbed"
    ours = canonicalize(credential, document_loader=bundled_document_loader())
    expected_line = (
        "<https://issuer.example/achievements/1> <https://schema.org/description> "
        '"form\\ffeed back\\bspace tab\\u000Bbed" .\n'
    )
    assert expected_line in ours
    pyld_output = jsonld.normalize(
        credential,
        {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": bundled_document_loader()},
    )
    # pyld 3.3 writes these characters raw, which is not canonical N-Quads: a signature over its
    # output would not verify with spec-conforming implementations
    assert expected_line not in pyld_output
    assert "form\ffeed back\bspace tab\u000bbed" in pyld_output


@pytest.mark.parametrize(
    "inline_context",
    [{"@foo": "bar"}, {"x": "@bar"}, {"x": {"@id": "@baz"}}, {"x": {"@reverse": "@qux"}},
     {"T": {"@id": "https://example.org/T", "@context": {"@zap": True}}}],
)
def test_reserved_words_in_inline_contexts_are_errors_not_warnings(credential, inline_context):
    credential["@context"].append(inline_context)
    with pytest.raises(InvalidJsonLdError, match="not a JSON-LD keyword"):
        canonicalize(credential, document_loader=bundled_document_loader())


def test_prefix_keyword_is_allowed(credential):
    credential["@context"].append({"ex": {"@id": "https://example.org/ns#", "@prefix": True}})
    credential["ex:extra"] = "value"
    assert "<https://example.org/ns#extra>" in canonicalize(credential, document_loader=bundled_document_loader())


@pytest.mark.parametrize("context_iri", ["", "relative/context.json"])
def test_a_context_iri_with_no_base_is_invalid_json_ld(credential, context_iri):
    """pyld raises a bare ValueError here; it must reach callers as bad input, not as a crash."""
    credential["@context"].insert(1, context_iri)
    with pytest.raises(InvalidJsonLdError, match="invalid JSON-LD"):
        canonicalize(credential, document_loader=bundled_document_loader())
