"""Fixtures for the dataintegrity tests: an offline loader, the published vectors, a test signer."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataintegrity import StaticDocumentLoader, bundled_document_loader, key_algorithm
from dataintegrity.algorithms import sign

FIXTURES = Path(__file__).parents[1] / "fixtures"

# Contexts the W3C vectors need but the package does not ship (tests/fixtures/contexts/).
TEST_CONTEXTS = {
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.json",
    "https://w3id.org/citizenship/v4rc1": "citizenship-v4rc1.json",
}
# One published single-proof vector per file (every suite); proof sets have their own layout in proof-sets/.
VECTOR_FILES = sorted(path.name for path in (FIXTURES / "vectors").glob("*.json"))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_vector(name: str) -> dict:
    return read_json(FIXTURES / "vectors" / name)


class Ed25519TestSigner:
    """A minimal Signer for tests; the real one lives in keys/."""

    algorithm = "Ed25519"

    def __init__(self, seed: bytes, verification_method: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.verification_method = verification_method
        self.calls = 0

    @property
    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return self._key.sign(data)


class KeyTestSigner:
    """A Signer for any Ed25519, P-256 or P-384 private key object."""

    def __init__(self, private_key, verification_method: str) -> None:
        self._key = private_key
        self.algorithm = key_algorithm(private_key)
        self.verification_method = verification_method

    @property
    def public_key(self):
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return sign(self._key, data)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Make any attempt to open a connection fail loudly: these tests must run offline."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="session")
def document_loader() -> StaticDocumentLoader:
    """The bundled contexts plus the test-only ones the W3C vectors use."""
    extra = {url: read_json(FIXTURES / "contexts" / name) for url, name in TEST_CONTEXTS.items()}
    return bundled_document_loader().with_documents(extra)


@pytest.fixture(params=VECTOR_FILES)
def vector(request) -> dict:
    return load_vector(request.param)


@pytest.fixture(scope="session")
def make_signer():
    """``make_signer(seed, verification_method)`` -> an Ed25519 Signer (a fixture, so tests need not import conftest)."""
    return Ed25519TestSigner


@pytest.fixture(scope="session")
def make_key_signer():
    """``make_key_signer(private_key, verification_method)`` -> a Signer for that key object."""
    return KeyTestSigner
