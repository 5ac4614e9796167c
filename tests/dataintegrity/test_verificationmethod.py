"""public_key_from_verification_method: Multikey, Ed25519VerificationKey2020 and JsonWebKey."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataintegrity import (
    DataIntegrityError,
    UnsupportedKey,
    key_algorithm,
    public_key_from_multibase,
    public_key_from_verification_method,
    public_key_multibase,
    verify_proof,
)

# The W3C vector keys (vc-di-eddsa keyPair.json, vc-di-ecdsa p256KeyPair.json / p384KeyPair.json).
ED25519 = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
P256 = "zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP"
P384 = "z82LkuBieyGShVBhvtE2zoiD6Kma4tJGFtkAhxR5pfkp5QPw4LutoYWhvQCnGjdVn14kujQ"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk(public_key) -> dict:
    if isinstance(public_key, Ed25519PublicKey):
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public_key.public_bytes_raw())}
    numbers, size = public_key.public_numbers(), (public_key.curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "crv": key_algorithm(public_key),
        "x": _b64url(numbers.x.to_bytes(size, "big")),
        "y": _b64url(numbers.y.to_bytes(size, "big")),
    }


@pytest.mark.parametrize(("multibase", "algorithm"), [(ED25519, "Ed25519"), (P256, "P-256"), (P384, "P-384")])
def test_multikey(multibase, algorithm):
    key = public_key_from_verification_method({"id": "did:x#1", "type": "Multikey", "publicKeyMultibase": multibase})
    assert key_algorithm(key) == algorithm
    assert public_key_multibase(key) == multibase


def test_ed25519_verification_key_2020():
    key = public_key_from_verification_method({"type": "Ed25519VerificationKey2020", "publicKeyMultibase": ED25519})
    assert public_key_multibase(key) == ED25519
    with pytest.raises(UnsupportedKey, match="Ed25519"):
        public_key_from_verification_method({"type": "Ed25519VerificationKey2020", "publicKeyMultibase": P256})


@pytest.mark.parametrize("multibase", [ED25519, P256, P384])
@pytest.mark.parametrize("method_type", ["JsonWebKey", "JsonWebKey2020"])
def test_json_web_key(multibase, method_type):
    expected = public_key_from_multibase(multibase)
    key = public_key_from_verification_method({"type": method_type, "publicKeyJwk": _jwk(expected)})
    assert public_key_multibase(key) == multibase


def test_a_jwk_key_verifies_the_published_ecdsa_proof(document_loader):
    path = Path(__file__).parents[1] / "fixtures" / "vectors" / "w3c-ecdsa-rdfc-2019-p256-alumni.json"
    vector = json.loads(path.read_text(encoding="utf-8"))
    secured = {**vector["unsigned_document"], "proof": vector["expected"]["proof"]}
    key = public_key_from_verification_method({"type": "JsonWebKey", "publicKeyJwk": _jwk(public_key_from_multibase(P256))})
    assert verify_proof(secured, secured["proof"], public_key=key, document_loader=document_loader)


def _p256_jwk() -> dict:
    return _jwk(public_key_from_multibase(P256))


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("did:x#1", "not a JSON object"),
        ({"type": "RsaVerificationKey2018", "publicKeyPem": "..."}, "RsaVerificationKey2018"),
        ({"type": "Multikey"}, "Multikey"),
        ({"type": "Multikey", "publicKeyMultibase": "zStV1DL6CwTryKyV"}, "Multikey"),  # not a key multicodec
        ({"type": "Multikey", "publicKeyMultibase": "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"}, "Multikey"),
        ({"type": "JsonWebKey"}, "publicKeyJwk"),
        ({"type": "JsonWebKey", "publicKeyJwk": {**_p256_jwk(), "d": "AAAA"}}, "private"),
        ({"type": "JsonWebKey", "publicKeyJwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}, "RSA"),
        ({"type": "JsonWebKey", "publicKeyJwk": {**_p256_jwk(), "crv": "P-521"}}, "P-521"),
        ({"type": "JsonWebKey", "publicKeyJwk": {**_p256_jwk(), "crv": "P-384"}}, "bytes"),
        ({"type": "JsonWebKey", "publicKeyJwk": {**_p256_jwk(), "y": _p256_jwk()["x"]}}, "point"),
        ({"type": "JsonWebKey", "publicKeyJwk": {**_p256_jwk(), "x": _p256_jwk()["x"] + "="}}, "base64url"),
        ({"type": "JsonWebKey", "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": _b64url(bytes(31))}}, "bytes"),
        ({"type": "JsonWebKey", "publicKeyJwk": {"kty": "OKP", "crv": "X25519", "x": _b64url(bytes(32))}}, "X25519"),
    ],
)
def test_unsupported_keys(method, message):
    with pytest.raises(UnsupportedKey, match=message) as info:
        public_key_from_verification_method(method)
    assert info.value.code == "unsupported_key"
    assert isinstance(info.value, DataIntegrityError)


def test_keys_from_generated_pairs_round_trip():
    for private in (Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())):
        public = private.public_key()
        from_jwk = public_key_from_verification_method({"type": "JsonWebKey", "publicKeyJwk": _jwk(public)})
        from_multikey = public_key_from_verification_method({"type": "Multikey", "publicKeyMultibase": public_key_multibase(public)})
        assert public_key_multibase(from_jwk) == public_key_multibase(from_multikey) == public_key_multibase(public)
