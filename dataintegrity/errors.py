"""Errors raised by the Data Integrity core.

Every error carries a stable snake_case ``code`` (a class attribute) that callers may put in
reports and API responses, and a human message that names the offending term, URL or value.
"""


class DataIntegrityError(Exception):
    """Root of every error this package raises on purpose."""

    code = "data_integrity_error"


class DocumentLoaderError(DataIntegrityError):
    """A document (usually a JSON-LD context) was requested that the loader does not serve."""

    code = "unknown_context"


class SafeModeError(DataIntegrityError):
    """The document uses a term, type or IRI that would be silently dropped or left relative."""

    code = "undefined_term"


class CanonicalizationError(DataIntegrityError):
    """The document could not be turned into canonical N-Quads."""

    code = "canonicalization_failed"


class InvalidJsonLdError(CanonicalizationError):
    """The JSON-LD processor rejected the document (e.g. a protected term redefined)."""

    code = "invalid_jsonld"


class CanonicalizationLimitError(CanonicalizationError):
    """Canonicalization would need more work than allowed (e.g. a blank node "bomb")."""

    code = "canonicalization_limit"


class DocumentTooDeepError(CanonicalizationError):
    """The document nests deeper than JSON-LD processing may recurse."""

    code = "jsonld_too_deep"


class MultibaseError(DataIntegrityError):
    """A multibase or multikey value is malformed or of an unexpected kind."""

    code = "invalid_multibase"


class UnsupportedCryptosuite(DataIntegrityError):
    """The named cryptosuite (or proof type) is not one this package implements."""

    code = "unsupported_cryptosuite"


class UnsupportedKey(DataIntegrityError):
    """A verification method or key is not an Ed25519, P-256 or P-384 public key we can read."""

    code = "unsupported_key"


class ProofError(DataIntegrityError):
    """A proof could not be created or is structurally invalid."""

    code = "invalid_proof"
