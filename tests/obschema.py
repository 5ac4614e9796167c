"""A reusable check for tests: is this credential valid against the official Open Badges 3.0
AchievementCredential JSON Schema, as 1EdTech's validator applies it?

The schema is the copy the verifier bundles (tests/verifier/test_json_schemas.py proves it equals
the official one), applied with `jsonschema` on its own, not through our verifier. Each credential
checked here is also a case of agreement for the verifier's fast validator (jsonschema_rs, see
verifier.checks.schema.BundledSchema), so every form the issuer tests check is one.
"""

from __future__ import annotations

from jsonschema import FormatChecker
from jsonschema.validators import validator_for

from verifier.checks.schema import bundled_validator
from verifier.jsonschemas import ACHIEVEMENT_CREDENTIAL_SCHEMA, bundled_schema


def ob_schema_errors(credential: dict, schema_url: str = ACHIEVEMENT_CREDENTIAL_SCHEMA) -> list[str]:
    """Each error as "<JSON path>: <message>", in path order; [] when the credential is valid."""
    schema = bundled_schema(schema_url)
    validator = validator_for(schema)(schema, format_checker=FormatChecker())
    errors = [f"{e.json_path}: {e.message[:200]}"
              for e in sorted(validator.iter_errors(credential), key=lambda e: list(e.absolute_path))]
    assert bundled_validator(schema_url).fast.is_valid(credential) == (errors == []), \
        "the verifier's fast validator and jsonschema disagree on this credential"
    return errors


def assert_ob_schema_valid(credential: dict) -> None:
    errors = ob_schema_errors(credential)
    assert errors == [], "not valid against the OB 3.0 AchievementCredential schema:\n" + "\n".join(errors)
