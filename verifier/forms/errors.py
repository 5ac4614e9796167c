"""`FormError`: the input could not be read as a credential in any accepted form.

Raised only by the readers in `verifier.forms` (never by the checks): an input we cannot read
yields no credential to report on, so the caller answers it as unreadable (the CLI's exit 2, an
HTTP 400/422), quoting `code` and `message`.
"""

from __future__ import annotations


class FormError(ValueError):
    """`code` is a stable snake_case word (documented in the README with the report codes):

    unreadable_input, not_a_credential, input_too_large, json_too_deep, json_too_many_nodes,
    baked_image_without_credential, multiple_credentials, malformed_jwt.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
