"""Multibase base58btc, Ed25519 Multikey values and did:key documents."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import (
    MultibaseError,
    bundled_document_loader,
    canonicalize,
    decode_base58btc,
    did_key_document,
    did_key_from_ed25519,
    ed25519_private_key_from_multibase,
    ed25519_private_key_multibase,
    ed25519_public_key_from_multibase,
    ed25519_public_key_multibase,
    encode_base58btc,
)

# The W3C vc-di-eddsa test vector key pair.
W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_PRIVATE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x01", bytes(range(256)), b"hello world"])
def test_base58btc_round_trip(data):
    encoded = encode_base58btc(data)
    assert encoded.startswith("z")
    assert decode_base58btc(encoded) == data


def test_base58btc_known_value():
    assert encode_base58btc(b"hello world") == "zStV1DL6CwTryKyV"


@pytest.mark.parametrize("value", ["", "StV1DL6CwTryKyV", "mAQID", "z0OIl", "zé", None, 42])
def test_base58btc_rejects_invalid(value):
    with pytest.raises(MultibaseError) as info:
        decode_base58btc(value)
    assert info.value.code == "invalid_multibase"


def test_w3c_key_pair_round_trip():
    seed = ed25519_private_key_from_multibase(W3C_PRIVATE)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert ed25519_public_key_multibase(public) == W3C_PUBLIC
    assert ed25519_public_key_from_multibase(W3C_PUBLIC) == public
    assert ed25519_private_key_multibase(seed) == W3C_PRIVATE


def test_public_key_multibase_round_trip():
    public = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    value = ed25519_public_key_multibase(public)
    assert value.startswith("z6Mk")
    assert ed25519_public_key_from_multibase(value) == public


def test_wrong_header_or_length_is_refused():
    with pytest.raises(MultibaseError, match="header"):
        ed25519_public_key_from_multibase(W3C_PRIVATE)  # a private key is not a public key
    with pytest.raises(MultibaseError, match="header"):
        ed25519_private_key_from_multibase(W3C_PUBLIC)
    with pytest.raises(MultibaseError, match="32 bytes"):
        ed25519_public_key_from_multibase(encode_base58btc(b"\xed\x01" + bytes(31)))
    with pytest.raises(MultibaseError, match="32 bytes"):
        ed25519_public_key_multibase(bytes(33))


def test_64_byte_private_key_form_must_be_consistent():
    seed = ed25519_private_key_from_multibase(W3C_PRIVATE)
    public = ed25519_public_key_from_multibase(W3C_PUBLIC)
    assert ed25519_private_key_from_multibase(encode_base58btc(b"\x80\x26" + seed + public)) == seed
    with pytest.raises(MultibaseError, match="does not match"):
        ed25519_private_key_from_multibase(encode_base58btc(b"\x80\x26" + seed + bytes(32)))


def test_did_key_document_shape():
    public = ed25519_public_key_from_multibase(W3C_PUBLIC)
    did = did_key_from_ed25519(public)
    assert did == f"did:key:{W3C_PUBLIC}"
    document = did_key_document(did)
    vm_id = f"{did}#{W3C_PUBLIC}"
    assert document["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    assert document["id"] == did
    assert document["verificationMethod"] == [
        {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": W3C_PUBLIC}
    ]
    assert document["assertionMethod"] == [vm_id]
    assert document["authentication"] == [vm_id]
    # the vector's verificationMethod is exactly this id
    assert vm_id == "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def test_did_key_document_is_valid_json_ld_in_safe_mode():
    nquads = canonicalize(did_key_document(f"did:key:{W3C_PUBLIC}"), document_loader=bundled_document_loader())
    assert "<https://w3id.org/security#publicKeyMultibase>" in nquads


@pytest.mark.parametrize(
    "did", ["did:web:example.com", f"did:key:{W3C_PRIVATE}", "did:key:z6Mk", "did:key:", f"{W3C_PUBLIC}", None]
)
def test_did_key_document_refuses_bad_input(did):
    with pytest.raises(MultibaseError):
        did_key_document(did)
