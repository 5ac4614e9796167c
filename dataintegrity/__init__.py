"""The shared core for JSON-LD and Data Integrity proofs.

Offline document loading (:mod:`.documentloader`), safe-mode JSON-LD expansion and RDFC-1.0
canonicalization (:mod:`.canonicalize`, :mod:`.rdfc`), multibase/Multikey/did:key encoding
(:mod:`.multibase`, :mod:`.multikey`), cryptosuites (:mod:`.cryptosuites`) and proofs
(:mod:`.proofs`). Only the standard library, pyld, cryptography and base58 are used; nothing here
touches the network, Flask or a database.
"""

from .canonicalize import canonicalize, expand
from .datetimes import parse_date_time_stamp
from .cryptosuites import EDDSA_RDFC_2022, Cryptosuite, get_cryptosuite
from .documentloader import BUNDLED_CONTEXT_URLS, DocumentLoader, StaticDocumentLoader, bundled_document_loader
from .errors import (
    CanonicalizationError,
    CanonicalizationLimitError,
    DataIntegrityError,
    DocumentLoaderError,
    InvalidJsonLdError,
    MultibaseError,
    ProofError,
    SafeModeError,
    UnsupportedCryptosuite,
)
from .multibase import decode_base58btc, encode_base58btc
from .multikey import (
    did_key_document,
    did_key_from_ed25519,
    ed25519_private_key_from_multibase,
    ed25519_private_key_multibase,
    ed25519_public_key_from_multibase,
    ed25519_public_key_multibase,
)
from .proofs import ProofResult, Signer, add_proof, hash_data, proof_configuration, verify_proof
from .rdfc import DEFAULT_MAX_WORK

__all__ = [
    "BUNDLED_CONTEXT_URLS",
    "DEFAULT_MAX_WORK",
    "EDDSA_RDFC_2022",
    "CanonicalizationError",
    "CanonicalizationLimitError",
    "Cryptosuite",
    "DataIntegrityError",
    "DocumentLoader",
    "DocumentLoaderError",
    "InvalidJsonLdError",
    "MultibaseError",
    "ProofError",
    "ProofResult",
    "SafeModeError",
    "Signer",
    "StaticDocumentLoader",
    "UnsupportedCryptosuite",
    "add_proof",
    "bundled_document_loader",
    "canonicalize",
    "decode_base58btc",
    "did_key_document",
    "did_key_from_ed25519",
    "ed25519_private_key_from_multibase",
    "ed25519_private_key_multibase",
    "ed25519_public_key_from_multibase",
    "ed25519_public_key_multibase",
    "encode_base58btc",
    "expand",
    "get_cryptosuite",
    "hash_data",
    "parse_date_time_stamp",
    "proof_configuration",
    "verify_proof",
]
