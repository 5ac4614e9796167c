"""The W3C VC API issuer: POST /credentials/issue signs a caller's credential with one of our keys."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import select

from dataintegrity import DataIntegrityError, parse_date_time_stamp
from dataintegrity.digests import resource_digests
from dataintegrity.published import UnpublishedDigests, context_version
from issuer import audit, auth, openbadges
from issuer.webhooks import events
from issuer.bodies import json_body, load
from issuer.db import get_session, transaction
from issuer.errors import ApiError
from issuer.models import Issuer, new_id
from schemas.vcapi import IssueRequestSchema, vc_version
from verifier.checks.issuer import issuer_id

bp = Blueprint("vcapi", __name__)

DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
STATUS_CONTEXT = "https://www.w3.org/ns/credentials/status/v1"
STATUS_ENTRY_TYPE = "BitstringStatusListEntry"


class Unprocessable(ApiError):
    status, title = 422, "Credential cannot be issued"


def check_context_digests(credential: dict) -> None:
    """A related resource that is one of our contexts must be given the digests of a published
    version of it: we hold those, so a wrong digest is known here, before it is signed.

    :raise Unprocessable: `digest_mismatch`, naming the field.
    """
    value = credential.get("relatedResource", [])
    resources = [("credential.relatedResource", value)] if isinstance(value, dict) else [
        (f"credential.relatedResource[{index}]", resource) for index, resource in enumerate(value)]
    for path, resource in resources:  # well formed: the request schema has checked them
        try:
            context_version(resource["id"], *resource_digests(resource))
        except UnpublishedDigests as error:
            raise Unprocessable("digest_mismatch", f"{path}: the {error}", errors={path: [f"the {error}."]}) from None


@bp.post("/credentials/issue")
@auth.token_required
def issue():
    data = load(IssueRequestSchema(), json_body())
    credential = data["credential"]
    options = dict(data["options"])
    wanted_status = options.pop("credentialStatus", None)
    if wanted_status is not None and wanted_status.get("type") != STATUS_ENTRY_TYPE:
        raise Unprocessable("option_not_supported", f"credentialStatus: only {STATUS_ENTRY_TYPE} entries are issued here")
    if options:
        # Accepted by the VC API's schema, but not implemented here: better refused than ignored.
        raise Unprocessable(
            "option_not_supported", "these options are not supported: " + ", ".join(sorted(options)),
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
    check_context_digests(credential)
    version = vc_version(credential)
    # Contexts VC 1.1 lacks: DataIntegrityProof (the proof's terms) and, when we add status entries,
    # BitstringStatusListEntry. VC 2.0's context defines both.
    needed = [DATA_INTEGRITY_CONTEXT] if version == "1.1" else []
    # Our status entries go into every VC 2.0 credential (its context defines them). A VC 1.1 one gets
    # them when options.credentialStatus asks: they need the status context, which many verifiers of
    # VC 1.1 credentials do not hold (the W3C Data Integrity suites' among them).
    ours_status = "credentialStatus" not in credential and (version != "1.1" or wanted_status is not None)
    if ours_status and version == "1.1":
        needed.append(STATUS_CONTEXT)
    contexts = credential["@context"] if isinstance(credential["@context"], list) else [credential["@context"]]
    missing = [url for url in needed if url not in contexts]
    if missing:
        credential = {**credential, "@context": [*contexts, *missing]}
    credential_id = new_id()
    if "id" not in credential:
        # A credential without an id gets one of ours (dereferenceable, like every credential we
        # issue): Open Badges 3.0 requires it and the verifiers of other systems refuse its absence.
        credential = {"@context": credential["@context"], "id": services.urls.credential(credential_id),
                      **{key: value for key, value in credential.items() if key != "@context"}}
    try:
        with transaction(session):
            reservation, status_lists = None, services.status_lists(session)
            if ours_status:
                # The same positions and entries the results path gives, so the credential is revoked
                # (or suspended) like any other. A caller's own credentialStatus is kept as sent, and
                # then this service has no list to change.
                reservation = status_lists.reserve(issuer)
                credential = {**credential, "credentialStatus": openbadges.status_value(reservation.entries)}
            record = services.issuance(session).sign_and_store(
                issuer,
                credential,
                credential_id=credential_id,
                now=services.clock(),
                valid_from=parse_date_time_stamp(credential.get("validFrom") or credential.get("issuanceDate")),
                valid_until=parse_date_time_stamp(credential.get("validUntil") or credential.get("expirationDate")),
            )
            if reservation is not None:
                status_lists.hold(reservation, record)
            audit.record(session, action="credential.issue", token=g.token, issuer_id=issuer.id,
                         subject_type="credential", subject_id=record.id, at=record.issued_at,
                         details={"via": "vc-api"})
            events.credential_issued(session, record, now=record.issued_at)
    except DataIntegrityError as error:
        raise Unprocessable(error.code, str(error)) from None
    return jsonify({"verifiableCredential": record.document}), 201
