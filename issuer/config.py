"""Configuration defaults. Every key can be set as BADGES_<KEY> in the environment or in
the instance folder's config.py; tests pass a mapping to create_app."""

DEFAULTS = {
    # Public origin used in identifiers (credential ids, did:web) and links.
    "BASE_URL": "http://127.0.0.1:5000",
    # None: a SQLite file in the instance folder.
    "DATABASE_URL": None,
    # Base64url of 32 bytes; None: read or create <instance>/key-encryption-key (mode 0600).
    "KEY_ENCRYPTION_KEY": None,
    # Largest request body accepted, in bytes.
    "MAX_CONTENT_LENGTH": 1 * 1024 * 1024,
    # Slug and name of the issuer created on first start.
    "DEFAULT_ISSUER_SLUG": "default",
    "DEFAULT_ISSUER_NAME": "Badges Issuer",
}
