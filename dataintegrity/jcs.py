"""JCS (RFC 8785, JSON Canonicalization Scheme) for the ``*-jcs-*`` cryptosuites.

JCS signs the JSON itself, every member included, so nothing can be dropped unsigned and the
JSON-LD safe mode of :mod:`.canonicalize` has nothing to guard here.
"""

from __future__ import annotations

import rfc8785

from .documentloader import DocumentLoader
from .errors import CanonicalizationError, DocumentTooDeepError


def canonicalize_jcs(document: dict, *, document_loader: DocumentLoader | None = None) -> str:
    """Return the RFC 8785 canonical JSON of ``document``.

    ``document_loader`` is accepted (and unused) so that every cryptosuite canonicalizes alike.

    Raises:
        CanonicalizationError: a value JCS cannot represent (an integer beyond 2**53, NaN, a lone
            surrogate, a non-JSON type).
        DocumentTooDeepError: the document nests deeper than Python's recursion limit allows.
    """
    try:
        return rfc8785.dumps(document).decode("utf-8")
    except (ValueError, TypeError) as error:  # rfc8785's errors are ValueErrors
        raise CanonicalizationError(f"JCS cannot canonicalize the document: {error}") from None
    except RecursionError:  # rfc8785 recurses once a level; the stack unwinds before we answer
        raise DocumentTooDeepError("JCS cannot canonicalize the document: it nests too deep") from None
