"""The key-encryption key (KEK) that seals issuer private keys at rest.

AES-256-GCM with the signing key's id as associated data, so a sealed blob cannot be
moved to another key row and still open.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.errors import KeyEncryptionKeyError, KeyUnsealError

KEK_FILE_NAME = "key-encryption-key"
_NONCE_BYTES = 12
_VERSION = b"\x01"


class KeyEncryptionKey:
    """Seals and opens private keys. Holds 32 secret bytes; its repr never shows them."""

    def __init__(self, secret: bytes):
        if len(secret) != 32:
            raise KeyEncryptionKeyError("the key-encryption key must be 32 bytes (44 characters of base64url)")
        self._aead = AESGCM(secret)

    @classmethod
    def from_text(cls, text: str) -> KeyEncryptionKey:
        try:
            # validate=True: a character outside the alphabet is an error, not silently skipped.
            secret = base64.b64decode(text.strip().encode("ascii"), altchars=b"-_", validate=True)
        except (ValueError, UnicodeEncodeError) as exc:
            raise KeyEncryptionKeyError("the key-encryption key is not valid base64url") from exc
        return cls(secret)

    @staticmethod
    def generate_text() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")

    def seal(self, plaintext: bytes, *, key_id: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, key_id.encode())

    def open(self, sealed: bytes, *, key_id: str) -> bytes:
        if sealed[:1] != _VERSION:
            raise KeyUnsealError(f"sealed key {key_id} has an unknown format")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, key_id.encode())
        except InvalidTag as exc:
            raise KeyUnsealError(
                f"sealed key {key_id} does not open with this key-encryption key"
            ) from exc

    def __repr__(self) -> str:
        return "KeyEncryptionKey(<secret>)"


def load_or_create_key_encryption_key(configured: str | None, instance_path: Path) -> KeyEncryptionKey:
    """The KEK from configuration, else from the instance folder's 0600 file, created on first use.

    :raise KeyEncryptionKeyError: the configured value or the file is malformed, or the file
        is readable by others (a leaked KEK opens every issuer key).
    """
    if configured:
        return KeyEncryptionKey.from_text(configured)
    path = Path(instance_path) / KEK_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temporary file, then linked into place: two processes starting
        # at once never both write a key, and neither can read a half-written one.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".kek-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(KeyEncryptionKey.generate_text() + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
    if path.stat().st_mode & 0o077:
        raise KeyEncryptionKeyError(f"{path} must be readable by its owner only (chmod 600)")
    return KeyEncryptionKey.from_text(path.read_text())
