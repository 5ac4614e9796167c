"""schemathesis hooks for tests/issuer/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

The run holds one instance token, whose id it can read from GET /api/v1/tokens: revoking that
token would answer every later request 401, so a request to revoke it is sent for an unknown id
instead (answered 404), and the run keeps its token."""

from __future__ import annotations

import os
import uuid

import schemathesis

SUITE_TOKEN_ID = os.environ.get("BADGES_SUITE_TOKEN_ID", "")


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.path_parameters and case.path_parameters.get("token_id") == SUITE_TOKEN_ID:
        case.path_parameters["token_id"] = str(uuid.uuid4())
