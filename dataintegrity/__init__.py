"""The shared core for JSON-LD and Data Integrity proofs.

Offline document loading (:mod:`.documentloader`), safe-mode JSON-LD expansion and RDFC-1.0
canonicalization (:mod:`.canonicalize`, :mod:`.rdfc`), multibase/Multikey/did:key encoding
(:mod:`.multibase`, :mod:`.multikey`), JCS (:mod:`.jcs`), signature algorithms (:mod:`.algorithms`),
verification methods (:mod:`.verificationmethod`), cryptosuites (:mod:`.cryptosuites`), proofs
(:mod:`.proofs`), and the published versions of the bundled contexts by digest (:mod:`.published`). Only the standard library, pyld, cryptography, base58 and rfc8785 are used; nothing
here touches the network, Flask or a database.
"""

from .canonicalize import canonicalize, expand
from .datetimes import parse_date_time_stamp
from .algorithms import key_algorithm
from .cryptosuites import (
    ECDSA_JCS_2019_P256,
    ECDSA_JCS_2019_P384,
    ECDSA_RDFC_2019_P256,
    ECDSA_RDFC_2019_P384,
    ED25519_SIGNATURE_2020,
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    Cryptosuite,
    get_cryptosuite,
)
from .documentloader import BUNDLED_CONTEXT_URLS, DocumentLoader, StaticDocumentLoader, bundled_document_loader
from .errors import (
    CanonicalizationError,
    CanonicalizationLimitError,
    DataIntegrityError,
    DocumentLoaderError,
    DocumentTooDeepError,
    InvalidJsonLdError,
    MultibaseError,
    ProofError,
    SafeModeError,
    UnsupportedCryptosuite,
    UnsupportedKey,
)
from .jcs import canonicalize_jcs
from .multibase import decode_base58btc, encode_base58btc
from .multikey import (
    did_key_document,
    did_key_from_ed25519,
    did_key_from_public_key,
    ed25519_private_key_from_multibase,
    ed25519_private_key_multibase,
    ed25519_public_key_from_multibase,
    ed25519_public_key_multibase,
    private_key_from_multibase,
    public_key_from_multibase,
    public_key_multibase,
)
from .proofs import ProofResult, Signer, add_proof, hash_data, proof_configuration, verify_proof
from .rdfc import DEFAULT_MAX_WORK
from .verificationmethod import public_key_from_verification_method

__all__ = [
    "BUNDLED_CONTEXT_URLS",
    "DEFAULT_MAX_WORK",
    "ECDSA_JCS_2019_P256",
    "ECDSA_JCS_2019_P384",
    "ECDSA_RDFC_2019_P256",
    "ECDSA_RDFC_2019_P384",
    "ED25519_SIGNATURE_2020",
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "CanonicalizationError",
    "CanonicalizationLimitError",
    "Cryptosuite",
    "DataIntegrityError",
    "DocumentLoader",
    "DocumentLoaderError",
    "DocumentTooDeepError",
    "InvalidJsonLdError",
    "MultibaseError",
    "ProofError",
    "ProofResult",
    "SafeModeError",
    "Signer",
    "StaticDocumentLoader",
    "UnsupportedCryptosuite",
    "UnsupportedKey",
    "add_proof",
    "bundled_document_loader",
    "canonicalize",
    "canonicalize_jcs",
    "decode_base58btc",
    "did_key_document",
    "did_key_from_ed25519",
    "did_key_from_public_key",
    "ed25519_private_key_from_multibase",
    "ed25519_private_key_multibase",
    "ed25519_public_key_from_multibase",
    "ed25519_public_key_multibase",
    "encode_base58btc",
    "expand",
    "get_cryptosuite",
    "hash_data",
    "key_algorithm",
    "parse_date_time_stamp",
    "private_key_from_multibase",
    "proof_configuration",
    "public_key_from_multibase",
    "public_key_from_verification_method",
    "public_key_multibase",
    "verify_proof",
]
