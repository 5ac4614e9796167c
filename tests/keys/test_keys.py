"""The key package on its own: sealing at rest, the KEK file, the signer, DID documents."""

import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dataintegrity import ed25519_public_key_from_multibase, ed25519_public_key_multibase
from keys import (
    Ed25519Signer,
    KeyEncryptionKey,
    KeyLifecycleError,
    KeyUnsealError,
    did_web_document,
    did_web_for,
    generate_ed25519_key,
    load_or_create_key_encryption_key,
    multikey_verification_method,
)
from keys.encryption import KEK_FILE_NAME
from keys.errors import KeyEncryptionKeyError

KEK_TEXT = "bXktdGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzJieXQ="


def seed_of(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


@pytest.fixture
def kek() -> KeyEncryptionKey:
    return KeyEncryptionKey.from_text(KEK_TEXT)


# --- sealing -------------------------------------------------------------------------------------


def test_seal_and_open_round_trip(kek):
    seed = os.urandom(32)
    sealed = kek.seal(seed, key_id="key-a")
    assert kek.open(sealed, key_id="key-a") == seed
    # Each seal uses a fresh nonce, so the same seed never gives the same blob twice.
    assert kek.seal(seed, key_id="key-a") != sealed


def test_sealed_blob_does_not_contain_the_seed(kek):
    seed = os.urandom(32)
    sealed = kek.seal(seed, key_id="key-a")
    assert seed not in sealed
    assert base64.b64encode(seed) not in sealed and base64.urlsafe_b64encode(seed) not in sealed
    assert seed.hex().encode() not in sealed


def test_generated_key_is_sealed_and_signs_for_its_public_key(kek):
    sealed = generate_ed25519_key(kek, key_id="row-1")
    signer = Ed25519Signer.unseal("did:example:1#k", sealed.sealed_private_key, kek, key_id="row-1")
    public_key = Ed25519PublicKey.from_public_bytes(ed25519_public_key_from_multibase(sealed.public_key_multibase))
    signature = signer.sign(b"hello")
    public_key.verify(signature, b"hello")  # raises InvalidSignature when wrong
    assert sealed.public_key_multibase.startswith("z6Mk")
    assert sealed.public_key_multibase in repr(sealed)
    assert repr(sealed.sealed_private_key) not in repr(sealed)


def test_generated_seed_is_not_in_the_sealed_blob(kek):
    sealed = generate_ed25519_key(kek, key_id="row-1")
    seed = kek.open(sealed.sealed_private_key, key_id="row-1")
    assert len(seed) == 32
    assert seed not in sealed.sealed_private_key


def test_another_kek_cannot_open(kek):
    sealed = kek.seal(os.urandom(32), key_id="key-a")
    other = KeyEncryptionKey.from_text(KeyEncryptionKey.generate_text())
    with pytest.raises(KeyUnsealError, match="key-a"):
        other.open(sealed, key_id="key-a")


def test_blob_cannot_move_to_another_key_row(kek):
    sealed = kek.seal(os.urandom(32), key_id="key-a")
    with pytest.raises(KeyUnsealError):
        kek.open(sealed, key_id="key-b")


def test_tampered_or_foreign_blob_is_refused(kek):
    sealed = bytearray(kek.seal(os.urandom(32), key_id="key-a"))
    sealed[-1] ^= 0x01
    with pytest.raises(KeyUnsealError):
        kek.open(bytes(sealed), key_id="key-a")
    with pytest.raises(KeyUnsealError):
        kek.open(b"\x02" + bytes(sealed[1:]), key_id="key-a")


def test_unseal_error_is_a_key_error_with_a_code():
    assert issubclass(KeyUnsealError, KeyLifecycleError)
    assert KeyUnsealError.code == "key_unseal_failed"


def test_signer_unseal_with_wrong_kek_raises(kek):
    sealed = generate_ed25519_key(kek, key_id="row-1")
    other = KeyEncryptionKey.from_text(KeyEncryptionKey.generate_text())
    with pytest.raises(KeyUnsealError):
        Ed25519Signer.unseal("did:example:1#k", sealed.sealed_private_key, other, key_id="row-1")


# --- the KEK from text ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "not base64 at all!", "abc", "é" * 44, "%%%%",
    # 32 good bytes with junk in or after them: a typo must not pass as the same key.
    KEK_TEXT[:16] + "*" + KEK_TEXT[16:], KEK_TEXT + "%%", KEK_TEXT[:16] + " " + KEK_TEXT[16:],
])
def test_kek_text_that_is_not_base64url(text):
    with pytest.raises(KeyEncryptionKeyError):
        KeyEncryptionKey.from_text(text)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_kek_of_the_wrong_length(length):
    text = base64.urlsafe_b64encode(b"k" * length).decode()
    with pytest.raises(KeyEncryptionKeyError, match="32 bytes"):
        KeyEncryptionKey.from_text(text)


def test_standard_base64_alphabet_is_accepted_too():
    """`openssl rand -base64 32` gives + and / instead of - and _; it is the same 32 bytes."""
    secret = bytes(range(250, 256)) * 5 + b"\xfb\xff"
    urlsafe, standard = base64.urlsafe_b64encode(secret).decode(), base64.b64encode(secret).decode()
    assert urlsafe != standard
    sealed = KeyEncryptionKey.from_text(urlsafe).seal(b"s", key_id="k")
    assert KeyEncryptionKey.from_text(standard).open(sealed, key_id="k") == b"s"


def test_generated_kek_text_is_accepted_and_surrounding_space_ignored():
    text = KeyEncryptionKey.generate_text()
    assert len(base64.urlsafe_b64decode(text)) == 32
    kek = KeyEncryptionKey.from_text(f"  {text}\n")
    assert kek.open(kek.seal(b"x", key_id="k"), key_id="k") == b"x"


def test_kek_repr_hides_the_secret():
    text = KeyEncryptionKey.generate_text()
    kek = KeyEncryptionKey.from_text(text)
    secret = base64.urlsafe_b64decode(text)
    assert text not in repr(kek) and secret.hex() not in repr(kek) and repr(secret) not in repr(kek)


# --- the KEK file --------------------------------------------------------------------------------


def test_kek_file_is_created_0600_and_reused(tmp_path):
    instance = tmp_path / "instance"  # not there yet
    first = load_or_create_key_encryption_key(None, instance)
    path = instance / KEK_FILE_NAME
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()

    second = load_or_create_key_encryption_key(None, instance)

    assert path.read_text() == content
    sealed = first.seal(b"seed", key_id="k")
    assert second.open(sealed, key_id="k") == b"seed"


def test_empty_configured_value_falls_back_to_the_file(tmp_path):
    first = load_or_create_key_encryption_key("", tmp_path)
    assert (tmp_path / KEK_FILE_NAME).exists()
    second = load_or_create_key_encryption_key(None, tmp_path)
    assert second.open(first.seal(b"s", key_id="k"), key_id="k") == b"s"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_kek_file_readable_by_others_is_refused(tmp_path, mode):
    path = tmp_path / KEK_FILE_NAME
    path.write_text(KeyEncryptionKey.generate_text() + "\n")
    path.chmod(mode)
    with pytest.raises(KeyEncryptionKeyError, match="chmod 600"):
        load_or_create_key_encryption_key(None, tmp_path)


def test_malformed_kek_file_is_refused(tmp_path):
    path = tmp_path / KEK_FILE_NAME
    path.write_text("too short\n")
    path.chmod(0o600)
    with pytest.raises(KeyEncryptionKeyError):
        load_or_create_key_encryption_key(None, tmp_path)


def test_configured_kek_wins_over_the_file(tmp_path):
    from_file = load_or_create_key_encryption_key(None, tmp_path)
    configured = load_or_create_key_encryption_key(KEK_TEXT, tmp_path)
    sealed = configured.seal(b"seed", key_id="k")
    assert KeyEncryptionKey.from_text(KEK_TEXT).open(sealed, key_id="k") == b"seed"
    with pytest.raises(KeyUnsealError):
        from_file.open(sealed, key_id="k")


def test_configured_kek_is_used_even_when_the_file_is_unsafe(tmp_path):
    path = tmp_path / KEK_FILE_NAME
    path.write_text(KeyEncryptionKey.generate_text() + "\n")
    path.chmod(0o644)
    kek = load_or_create_key_encryption_key(KEK_TEXT, tmp_path)
    assert kek.open(KeyEncryptionKey.from_text(KEK_TEXT).seal(b"s", key_id="k"), key_id="k") == b"s"


def test_configured_kek_creates_no_file(tmp_path):
    load_or_create_key_encryption_key(KEK_TEXT, tmp_path)
    assert not (tmp_path / KEK_FILE_NAME).exists()


def test_bad_configured_kek_is_refused_not_replaced_by_the_file(tmp_path):
    load_or_create_key_encryption_key(None, tmp_path)
    with pytest.raises(KeyEncryptionKeyError):
        load_or_create_key_encryption_key("short", tmp_path)


# --- the signer ----------------------------------------------------------------------------------


def test_signer_signs_verifiably_and_shows_no_key_material():
    private_key = Ed25519PrivateKey.generate()
    seed = seed_of(private_key)
    signer = Ed25519Signer.from_seed("did:web:badges.test:issuers:x#key-1", seed)
    signature = signer.sign(b"data")
    private_key.public_key().verify(signature, b"data")
    assert signer.verification_method == "did:web:badges.test:issuers:x#key-1"
    assert signer.algorithm == "Ed25519"

    text = repr(signer) + str(signer)
    assert "did:web:badges.test:issuers:x#key-1" in text
    for form in (seed.hex(), repr(seed), base64.b64encode(seed).decode(), base64.urlsafe_b64encode(seed).decode(),
                 ed25519_public_key_multibase(seed)):
        assert form not in text


# --- identifiers and DID documents ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:5000", "did:web:127.0.0.1%3A5000:issuers:x"),
        ("https://badges.test", "did:web:badges.test:issuers:x"),
        ("https://badges.test/", "did:web:badges.test:issuers:x"),
        ("https://example.com/badges", "did:web:example.com:badges:issuers:x"),
        ("https://example.com:8443/org/badges/", "did:web:example.com%3A8443:org:badges:issuers:x"),
    ],
)
def test_did_web_for(base_url, expected):
    assert did_web_for(base_url, "issuers", "x") == expected


def test_did_web_for_needs_a_host():
    with pytest.raises(ValueError):
        did_web_for("/just/a/path", "issuers", "x")


def test_did_document_shape():
    did = "did:web:badges.test:issuers:x"
    methods = [
        multikey_verification_method(did, "key-1", "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
        multikey_verification_method(did, "key-2", "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"),
    ]
    document = did_web_document(did, methods)
    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {"id": f"{did}#key-1", "type": "Multikey", "controller": did,
             "publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"},
            {"id": f"{did}#key-2", "type": "Multikey", "controller": did,
             "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"},
        ],
        "assertionMethod": [f"{did}#key-1", f"{did}#key-2"],
    }


def test_did_document_accepts_a_generator():
    did = "did:web:badges.test:issuers:x"
    document = did_web_document(did, (multikey_verification_method(did, f"key-{i}", "z6Mk") for i in (1, 2)))
    assert document["assertionMethod"] == [f"{did}#key-1", f"{did}#key-2"]
    assert len(document["verificationMethod"]) == 2
