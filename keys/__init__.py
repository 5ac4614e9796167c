"""Key lifecycle: generate Ed25519, P-256 and P-384 signing keys, seal them at rest, sign, publish.

Private key bytes never leave this package: callers get a `Signer` that can sign and
a sealed blob they can store; nothing here exports or logs raw key material.
"""

from keys.encryption import KeyEncryptionKey, load_or_create_key_encryption_key
from keys.errors import KeyLifecycleError, KeyUnsealError
from keys.generation import KEY_TYPES, SealedKey, generate_ed25519_key, generate_key
from keys.signer import CRYPTOSUITES, JOSE_ALGORITHMS, Ed25519Signer, KeySigner
from keys.documents import did_web_for, did_web_document, multikey_verification_method

__all__ = [
    "KeyEncryptionKey",
    "load_or_create_key_encryption_key",
    "KeyLifecycleError",
    "KeyUnsealError",
    "SealedKey",
    "generate_ed25519_key",
    "generate_key",
    "KEY_TYPES",
    "CRYPTOSUITES",
    "JOSE_ALGORITHMS",
    "Ed25519Signer",
    "KeySigner",
    "did_web_for",
    "did_web_document",
    "multikey_verification_method",
]
