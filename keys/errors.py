class KeyError_(Exception):
    """Root of key-lifecycle errors (named so it does not shadow the builtin KeyError)."""

    code = "key_error"


class KeyEncryptionKeyError(KeyError_):
    code = "key_encryption_key_invalid"


class KeyUnsealError(KeyError_):
    """A sealed private key could not be opened: wrong key-encryption key or tampered blob."""

    code = "key_unseal_failed"
