"""The W3C VC API issuer: POST /credentials/issue signs a caller's credential with one of our keys."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import select

from dataintegrity import DataIntegrityError, parse_date_time_stamp
from issuer import audit, auth, events
from issuer.bodies import json_body, load
from issuer.db import get_session, transaction
from issuer.errors import ApiError
from issuer.models import Issuer, new_id
from schemas.vcapi import IssueRequestSchema, vc_version
from verifier.checks.issuer import issuer_id

bp = Blueprint("vcapi", __name__)

DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"


class Unprocessable(ApiError):
    status, title = 422, "Credential cannot be issued"


@bp.post("/credentials/issue")
@auth.token_required
def issue():
    data = load(IssueRequestSchema(), json_body())
    credential = data["credential"]
    if data["options"]:
        # Accepted by the VC API's schema, but not implemented here: better refused than ignored
        # (a caller asking for a status entry must not get a credential that cannot be revoked).
        raise Unprocessable(
            "option_not_supported", "these options are not supported: " + ", ".join(sorted(data["options"])),
        )
    services = current_app.extensions["badges"]
    own_prefix = services.urls.credential("")
    if isinstance(credential.get("id"), str) and credential["id"].startswith(own_prefix):
        # Our credential URLs name credentials we issued; a caller cannot claim one.
        raise Unprocessable("reserved_id", f"ids under {own_prefix} are reserved for credentials this service assigns")
    session = get_session()
    issuer = session.scalar(select(Issuer).where(Issuer.did == issuer_id(credential)))
    if issuer is None:
        raise Unprocessable(
            "unknown_issuer", f"the credential's issuer {issuer_id(credential)} is not an issuer of this service"
        )
    auth.require_issuer_scope(issuer)
    if vc_version(credential) == "1.1" and DATA_INTEGRITY_CONTEXT not in credential["@context"]:
        # VC 1.1's context does not define DataIntegrityProof; the proof's terms need this one.
        contexts = credential["@context"]
        credential = {**credential, "@context": [*(contexts if isinstance(contexts, list) else [contexts]), DATA_INTEGRITY_CONTEXT]}
    try:
        with transaction(session):
            record = services.issuance(session).sign_and_store(
                issuer,
                credential,
                credential_id=new_id(),
                now=services.clock(),
                valid_from=parse_date_time_stamp(credential.get("validFrom") or credential.get("issuanceDate")),
                valid_until=parse_date_time_stamp(credential.get("validUntil") or credential.get("expirationDate")),
            )
            audit.record(session, action="credential.issue", token=g.token, issuer_id=issuer.id,
                         subject_type="credential", subject_id=record.id, at=record.issued_at,
                         details={"via": "vc-api"})
            events.credential_issued(session, record, now=record.issued_at)
    except DataIntegrityError as error:
        raise Unprocessable(error.code, str(error)) from None
    return jsonify({"verifiableCredential": record.document}), 201
