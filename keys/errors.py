class KeyLifecycleError(Exception):
    """Root of key-lifecycle errors."""

    code = "key_error"


class KeyEncryptionKeyError(KeyLifecycleError):
    code = "key_encryption_key_invalid"


class KeyUnsealError(KeyLifecycleError):
    """A sealed private key could not be opened: wrong key-encryption key or tampered blob."""

    code = "key_unseal_failed"
