"""Multibase base58btc, Ed25519/P-256/P-384 Multikey values and did:key documents."""

from __future__ import annotations

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import (
    MultibaseError,
    bundled_document_loader,
    canonicalize,
    decode_base58btc,
    did_key_document,
    did_key_from_ed25519,
    did_key_from_public_key,
    ed25519_private_key_from_multibase,
    ed25519_private_key_multibase,
    ed25519_public_key_from_multibase,
    ed25519_public_key_multibase,
    encode_base58btc,
    key_algorithm,
    private_key_from_multibase,
    public_key_from_multibase,
    public_key_multibase,
)

# The W3C vc-di-eddsa test vector key pair.
W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_PRIVATE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00\x01", bytes(range(256)), b"hello world"])
def test_base58btc_round_trip(data):
    encoded = encode_base58btc(data)
    assert encoded.startswith("z")
    assert decode_base58btc(encoded) == data


@pytest.mark.parametrize("text", ["1", "11", "111StV1DL6CwTryKyV", "StV1DL6CwTryKyV ", "1\n", "2NEpo7TZRRrLZSi2U"])
def test_base58btc_decodes_as_the_base58_library_does(text):
    """Leading "1"s are zero bytes and trailing whitespace is ignored, as base58.b58decode has it."""
    assert decode_base58btc("z" + text) == base58.b58decode(text.encode())


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


# The W3C vc-di-ecdsa key pairs (p256KeyPair.json, p384KeyPair.json).
EC_PAIRS = [
    ("P-256", "zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP", "z42twTcNeSYcnqg1FLuSFs2bsGH3ZqbRHFmvS9XMsYhjxvHN"),
    (
        "P-384",
        "z82LkuBieyGShVBhvtE2zoiD6Kma4tJGFtkAhxR5pfkp5QPw4LutoYWhvQCnGjdVn14kujQ",
        "z2fanyY7zgwNpZGxX5fXXibvScNaUWNprHU9dKx7qpVj7mws9J8LLt4mDB5TyH2GLHWkUc",
    ),
]


@pytest.mark.parametrize(("algorithm", "public", "secret"), EC_PAIRS)
def test_ecdsa_key_pairs(algorithm, public, secret):
    private_key = private_key_from_multibase(secret)
    assert key_algorithm(private_key) == algorithm
    assert public_key_multibase(private_key.public_key()) == public
    assert public_key_multibase(public_key_from_multibase(public)) == public
    header, size = {"P-256": (b"\x80\x24", 33), "P-384": (b"\x81\x24", 49)}[algorithm]
    raw = decode_base58btc(public)
    assert raw[:2] == header and len(raw) == 2 + size


def test_ed25519_through_the_generic_functions():
    private_key = private_key_from_multibase(W3C_PRIVATE)
    assert key_algorithm(private_key) == "Ed25519"
    assert public_key_multibase(private_key.public_key()) == W3C_PUBLIC
    assert public_key_from_multibase(W3C_PUBLIC).public_bytes_raw() == ed25519_public_key_from_multibase(W3C_PUBLIC)


@pytest.mark.parametrize(("algorithm", "public", "secret"), EC_PAIRS)
def test_ecdsa_did_key_document(algorithm, public, secret):
    did = did_key_from_public_key(public_key_from_multibase(public))
    assert did == f"did:key:{public}"
    document = did_key_document(did)
    vm_id = f"{did}#{public}"
    assert document["verificationMethod"] == [
        {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": public}
    ]
    assert document["assertionMethod"] == document["authentication"] == [vm_id]
    nquads = canonicalize(document, document_loader=bundled_document_loader())
    assert f'"{public}"^^<https://w3id.org/security#multibase>' in nquads


def _p256_point() -> bytes:
    return decode_base58btc(EC_PAIRS[0][1])[2:]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (encode_base58btc(b"\x80\x24" + _p256_point()[:-1]), "33-byte"),
        (encode_base58btc(b"\x81\x24" + _p256_point()), "49-byte"),
        (encode_base58btc(b"\x80\x24" + b"\x04" + bytes(32)), "compressed"),  # uncompressed prefix
        (encode_base58btc(b"\x80\x24" + b"\x02" + b"\xff" * 32), "point"),  # x beyond the field
        (encode_base58btc(b"\x12\x00" + _p256_point()), "multikey"),  # multicodec number, not its varint
        (EC_PAIRS[0][2], "multikey"),  # a secret key is not a public key
    ],
)
def test_bad_ecdsa_public_keys(value, message):
    with pytest.raises(MultibaseError, match=message):
        public_key_from_multibase(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (encode_base58btc(b"\x86\x26" + bytes(31)), "32 bytes"),
        (encode_base58btc(b"\x86\x26" + bytes(32)), "out of range"),
        (encode_base58btc(b"\x87\x26" + b"\xff" * 48), "out of range"),
        (EC_PAIRS[1][1], "multikey"),
    ],
)
def test_bad_ecdsa_private_keys(value, message):
    with pytest.raises(MultibaseError, match=message):
        private_key_from_multibase(value)


def test_unsupported_key_objects_have_no_multikey():
    with pytest.raises(MultibaseError):
        public_key_multibase(ec.generate_private_key(ec.SECP521R1()).public_key())
    with pytest.raises(MultibaseError):
        did_key_from_public_key(b"\x00" * 32)
