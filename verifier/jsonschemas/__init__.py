"""The JSON Schemas the verifier holds, by the URL each is published at (its `$id`).

Like the JSON-LD contexts, they travel with the package and are used offline. They are 1EdTech's
published schemas (as in ../shared/ref/schemas, the openbadges-specification gh-pages build of
2024-07-30), written here as our own documents with sorted keys; tests/verifier/test_schema_check.py
proves each means exactly what the official one does (equal as parsed JSON). Credentials name them in
`credentialSchema` (type `1EdTechJsonSchemaValidator2019` or `JsonSchema`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
# published URL -> file here. The `_schema.json` ones are 1EdTech's current JSON-LD adaptations
# (singular values may stand for one-element arrays); the `-jsonschema1.json` ones the earlier
# formal schemas, which credentials issued against them still name.
BUNDLED_SCHEMA_FILES = {
    _BASE + name: name for name in (
        "ob_v3p0_achievementcredential_schema.json",
        "ob_v3p0_endorsementcredential_schema.json",
        "ob_v3p0_profile_schema.json",
        "ob_v3p0_achievementcredential-jsonschema1.json",
        "ob_v3p0_endorsementcredential-jsonschema1.json",
        "ob_v3p0_profile-jsonschema1.json",
    )
}
ACHIEVEMENT_CREDENTIAL_SCHEMA = _BASE + "ob_v3p0_achievementcredential_schema.json"


@cache
def _load(name: str) -> str:
    return (resources.files(__package__) / name).read_text(encoding="utf-8")


def bundled_schema(url: str) -> dict | None:
    """The schema published at `url` if this package holds it (a fresh copy), else None."""
    name = BUNDLED_SCHEMA_FILES.get(url)
    return json.loads(_load(name)) if name else None
