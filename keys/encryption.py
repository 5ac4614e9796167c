"""The key-encryption key (KEK) that seals issuer private keys at rest.

AES-256-GCM with the signing key's id as associated data, so a sealed blob cannot be
moved to another key row and still open.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
import threading
from collections.abc import Callable
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


class DeferredKeyEncryptionKey:
    """A KEK loaded at its first use: for a node that may create one only once it knows the database
    holds no sealed key yet, which it cannot ask before the database is reachable."""

    def __init__(self, load: Callable[[], KeyEncryptionKey]):
        self._load = load
        self._key: KeyEncryptionKey | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> KeyEncryptionKey:
        with self._lock:
            if self._key is None:
                self._key = self._load()
            return self._key

    def seal(self, plaintext: bytes, *, key_id: str) -> bytes:
        return self._loaded().seal(plaintext, key_id=key_id)

    def open(self, sealed: bytes, *, key_id: str) -> bytes:
        return self._loaded().open(sealed, key_id=key_id)

    def __repr__(self) -> str:
        return "DeferredKeyEncryptionKey(<secret>)"


def load_or_create_key_encryption_key(configured: str | None, instance_path: Path, *,
                                      configured_file: str | Path | None = None,
                                      may_create: bool = True) -> KeyEncryptionKey:
    """The KEK from configuration (the key itself, or a file naming it), else from the instance
    folder's 0600 file, created on first use when `may_create` (the database holds no sealed key yet).

    :raise KeyEncryptionKeyError: both settings are given; the configured value or a file is
        malformed; a file is readable by others (a leaked KEK opens every issuer key); or there is
        no key and none may be made (the message names the settings).
    """
    if configured and configured_file:
        raise KeyEncryptionKeyError(
            "set BADGES_KEY_ENCRYPTION_KEY or BADGES_KEY_ENCRYPTION_KEY_FILE, not both")
    if configured:
        return KeyEncryptionKey.from_text(configured)
    if configured_file:
        return read_key_file(Path(configured_file), setting="BADGES_KEY_ENCRYPTION_KEY_FILE",
                              allowed_mode=0o070)
    path = Path(instance_path) / KEK_FILE_NAME
    if not path.exists():
        if not may_create:
            raise KeyEncryptionKeyError(
                "the database holds sealed issuer keys but this node has no key-encryption key: give it the "
                "deployment's key with BADGES_KEY_ENCRYPTION_KEY or BADGES_KEY_ENCRYPTION_KEY_FILE "
                f"(or as {path})")
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
    return read_key_file(path, setting=None, allowed_mode=0)


def read_key_file(path: Path, *, setting: str | None, allowed_mode: int) -> KeyEncryptionKey:
    """The key in `path`. The instance folder's file must be 0600; a configured file (a container
    secret, often group-readable) must at least not be readable or writable by others."""
    named = f"{setting}={path}" if setting else str(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as error:
        raise KeyEncryptionKeyError(f"cannot read the key-encryption key {named}: {error.strerror}") from None
    if mode & 0o077 & ~allowed_mode:
        needed = "chmod 600" if not allowed_mode else "chmod o-rwx"
        raise KeyEncryptionKeyError(f"{named} must not be readable by others ({needed})")
    try:
        return KeyEncryptionKey.from_text(text)
    except KeyEncryptionKeyError as error:
        raise KeyEncryptionKeyError(f"{named}: {error}") from None
