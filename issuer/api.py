"""The admin and integration API, /api/v1. Every route needs a Bearer token."""

from __future__ import annotations

import json

from marshmallow import ValidationError
from flask import Blueprint, current_app, g, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload, selectinload

from issuer import audit, auth, clr, expiry
from issuer.webhooks import events
from issuer.bootstrap import create_issuer
from issuer.lifecycle import Lifecycle
from issuer.manage import new_management_link
from issuer.db import get_session, transaction
from issuer.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable, ValidationFailed
from issuer.images import MAX_IMAGE_BYTES, ImageError, check_image
from issuer.pathways import Pathways
from issuer.models import Achievement, ApiToken, AuditEntry, Credential, Issuer, is_id, new_id
from issuer.bodies import UnsupportedMediaType, json_body, load
from schemas.audit import AuditPageSchema, AuditQuerySchema
from schemas.achievement import AchievementCreateSchema, AchievementSchema
from schemas.clr import ClrQuerySchema
from schemas.common import SLUG
from schemas.credential import CredentialPageSchema, CredentialSchema, ListQuerySchema
from schemas.lifecycle import BulkRevokeSchema, BulkRevokedSchema, ReissueSchema, ReissuedSchema, StatusChangeSchema
from schemas.issuer import IssuerCreateSchema, IssuerSchema, IssuerUpdateSchema
from schemas.manage import ManagementLinkSchema
from schemas.result import ResultAnswerSchema, ResultCreateSchema
from schemas.token import TokenCreateSchema, TokenCreatedSchema, TokenListSchema, TokenRevokeSchema, TokenSchema

bp = Blueprint("api", __name__, url_prefix="/api/v1")

def services():
    return current_app.extensions["badges"]


def issuer_by_slug(slug: str) -> Issuer:
    issuer = get_session().scalar(select(Issuer).where(Issuer.slug == slug)) if SLUG.match(slug) else None
    if issuer is None:
        raise NotFound("issuer_not_found", f"there is no issuer {slug!r}")
    auth.require_issuer_scope(issuer)
    return issuer


def achievement_by_id(achievement_id: str) -> Achievement:
    # With its issuer, which every caller needs (the token's scope first): one query, not two.
    achievement = (get_session().get(Achievement, achievement_id, options=[joinedload(Achievement.issuer)])
                   if is_id(achievement_id) else None)
    if achievement is None:
        raise NotFound("achievement_not_found", f"there is no achievement {achievement_id!r}")
    auth.require_issuer_scope(achievement.issuer)
    return achievement


def issuer_view(issuer: Issuer) -> dict:
    urls = services().urls
    view = IssuerSchema().dump({
        **{c: getattr(issuer, c) for c in ("did", "slug", "name", "url", "email", "description", "did_method", "key_type",
                                           "created_at", "credentials_public", "linkedin_organization_id", "suspension",
                                           "pathways_open")},
        "suspendable": "suspension" in services().status_list_policy.purposes_for(issuer),
        "profile_url": urls.issuer_profile(issuer.slug),
        "did_document_url": urls.did_document(issuer.slug) if issuer.did_method == "web" else None,
        "keys": [
            {"verification_method": k.verification_method, "key_type": k.key_type,
             "public_key_multibase": k.public_key_multibase,
             "created_at": k.created_at, "retired_at": k.retired_at, "active": k.active}
            for k in issuer.keys
        ],
    })
    return view


def achievement_view(achievement: Achievement) -> dict:
    view = AchievementSchema().dump(achievement)
    view["url"] = services().urls.achievement(achievement.id)
    view["criteria"] = {"narrative": achievement.criteria_narrative}
    if achievement.image_media_type is not None:
        view["image"] = services().urls.achievement_image(achievement.id)
    return view


@bp.post("/issuers")
@auth.token_required
def create_issuer_view():
    auth.require_instance_scope()
    data = load(IssuerCreateSchema())
    session = get_session()
    if session.scalar(select(Issuer.id).where(Issuer.slug == data["slug"])):
        raise Conflict("issuer_exists", f"an issuer with slug {data['slug']!r} exists already")
    try:
        with transaction(session):
            issuer = create_issuer(services(), session, **data)
            audit.issuer_created(session, issuer, token=g.token)
    except IntegrityError:
        raise Conflict("issuer_exists", f"an issuer with slug {data['slug']!r} exists already") from None
    return issuer_view(issuer), 201, {"Location": url_for("api.get_issuer", slug=issuer.slug)}


@bp.get("/issuers/<slug>")
@auth.token_required
def get_issuer(slug):
    return issuer_view(issuer_by_slug(slug))


@bp.patch("/issuers/<slug>")
@auth.token_required
def update_issuer(slug):
    """Change the issuer's sharing settings: the default visibility of new credentials' pages
    (a credential whose earner has chosen keeps that choice) and its LinkedIn organization id."""
    issuer = issuer_by_slug(slug)
    data = load(IssuerUpdateSchema())
    session = get_session()
    with transaction(session):
        change_issuer(session, issuer, data, token=g.token, now=services().clock())
    return issuer_view(issuer)


def change_issuer(session, issuer: Issuer, data: dict, *, token, now, user: str | None = None) -> None:
    """Apply what IssuerUpdateSchema loaded, with its audit entry (the caller commits)."""
    for field, value in data.items():
        setattr(issuer, field, value)
    audit.record(session, action="issuer.update", token=token, issuer_id=issuer.id, subject_type="issuer",
                 subject_id=issuer.id, at=now, details=data, user=user)


@bp.get("/issuers/<slug>/clr")
@auth.token_required
def get_clr(slug):
    """A signed ClrCredential (CLR 2.0) of the earner's current credentials from this issuer."""
    issuer = issuer_by_slug(slug)
    query = _query(ClrQuerySchema())
    session = get_session()
    with transaction(session):
        earner = clr.email_earner(query["email"]) if query["email"] else query["did"]
        document = clr.issue_record(session, services().clr(session), issuer, earner, token=g.token,
                                    at=services().clock())
    return current_app.response_class(json.dumps(document, ensure_ascii=False), mimetype="application/ld+json")


@bp.post("/issuers/<slug>/keys/rotate")
@auth.token_required
def rotate_key(slug):
    issuer = issuer_by_slug(slug)
    session = get_session()
    rotate_issuer_key(session, issuer, token=g.token, now=services().clock())
    session.refresh(issuer)
    return issuer_view(issuer)


def rotate_issuer_key(session, issuer: Issuer, *, token, now, user: str | None = None) -> None:
    """Retire the issuer's key and make a new one, with its audit entry, committed.

    :raise Conflict: another rotation of the issuer ran at the same time (nothing was changed).
    """
    try:
        with transaction(session):
            key = services().keystore(session).rotate(issuer, now=now)
            audit.key_rotated(session, issuer, key, token=token, at=now, user=user)
    except (IntegrityError, OperationalError) as error:
        # Two rotations at once: PostgreSQL serializes them on the issuer row; SQLite (no row
        # locks) lets one fail on the key sequence or on its write lock. Nothing was changed.
        if isinstance(error, OperationalError) and "locked" not in str(error.orig):
            raise
        raise Conflict("concurrent_change", "another key rotation of this issuer happened at the same time; try again") from None


@bp.post("/issuers/<slug>/achievements")
@auth.token_required
def create_achievement(slug):
    issuer = issuer_by_slug(slug)
    data = load(AchievementCreateSchema())
    session = get_session()
    achievement = new_achievement(issuer, data, now=services().clock())
    with transaction(session):
        session.add(achievement)
    return achievement_view(achievement), 201, {"Location": url_for("api.get_achievement", achievement_id=achievement.id)}


EDITABLE = ("name", "description", "achievement_type", "alignments", "tags", "passing_score", "max_score",
            "valid_for")


def edit_achievement(session, achievement: Achievement, data: dict, *, now, token=None,
                     user: str | None = None) -> list[str]:
    """Change what AchievementCreateSchema loaded (but the image and the format), with an audit
    entry naming the fields changed; credentials issued before keep what they were signed with.
    Returns the fields changed; the caller commits."""
    edited = new_achievement(achievement.issuer, data, now=now)
    edited.criteria_narrative = data["criteria"]["narrative"]
    changed = [name for name in (*EDITABLE, "criteria_narrative")
               if getattr(edited, name) != getattr(achievement, name)]
    for name in changed:
        setattr(achievement, name, getattr(edited, name))
    if changed:
        audit.record(session, action="achievement.update", token=token, issuer_id=achievement.issuer_id,
                     subject_type="achievement", subject_id=achievement.id, at=now, user=user,
                     details={"fields": changed})
    return changed


def new_achievement(issuer: Issuer, data: dict, *, now) -> Achievement:
    """An achievement from what AchievementCreateSchema loaded (the console makes them this way too)."""
    return Achievement(
        id=new_id(),
        issuer_id=issuer.id,
        name=data["name"],
        description=data["description"],
        criteria_narrative=data["criteria"]["narrative"],
        achievement_type=data["achievement_type"],
        alignments=[{k: v for k, v in a.items() if v is not None} for a in data["alignments"]],
        tags=data["tags"],
        image_url=data["image"],
        passing_score=data["passing_score"],
        max_score=data["max_score"],
        valid_for=data["valid_for"],
        credential_format=data["credential_format"],
        created_at=now,
    )


@bp.get("/achievements/<achievement_id>")
@auth.token_required
def get_achievement(achievement_id):
    return achievement_view(achievement_by_id(achievement_id))


# How each refused upload is answered.
IMAGE_ERRORS = {"unsupported_image_type": UnsupportedMediaType, "image_too_large": PayloadTooLarge,
                "image_invalid": Unprocessable, "image_dimensions": Unprocessable}


@bp.put("/achievements/<achievement_id>/image")
@auth.token_required
def upload_achievement_image(achievement_id):
    """Upload the achievement's image as the raw request body, sent as image/png or image/svg+xml.
    An SVG is stored sanitised, a PNG re-encoded (see issuer.images). Credentials issued from then
    on name it as their achievement's image; earlier ones keep what they were signed with."""
    achievement = achievement_by_id(achievement_id)
    # Refuse by the announced length first: no need to read a body that is too large anyway.
    if (request.content_length or 0) > MAX_IMAGE_BYTES:
        raise PayloadTooLarge("image_too_large", f"the image is {request.content_length} bytes; at most {MAX_IMAGE_BYTES} are accepted")
    try:
        image = check_image(request.get_data(cache=False), request.mimetype)
    except ImageError as error:
        raise IMAGE_ERRORS[error.code](error.code, error.message) from None
    session = get_session()
    with transaction(session):
        set_image(session, achievement, image, token=g.token, now=services().clock())
    return achievement_view(achievement)


def set_image(session, achievement: Achievement, image, *, token, now, user: str | None = None) -> None:
    """Store a checked image as the achievement's, with its audit entry (the caller commits)."""
    achievement.image_data = image.data
    achievement.image_media_type = image.media_type
    audit.record(session, action="achievement.image", token=token, issuer_id=achievement.issuer_id,
                 subject_type="achievement", subject_id=achievement.id, at=now, user=user,
                 details={"media_type": image.media_type, "bytes": len(image.data),
                          "width": image.width, "height": image.height})


@bp.post("/achievements/<achievement_id>/results")
@auth.token_required
def record_result(achievement_id):
    achievement = achievement_by_id(achievement_id)
    refuse_pathway_results(achievement)
    data = load(ResultCreateSchema())
    session = get_session()
    issuance = services().issuance(session)
    outcome = issuance.previous_outcome(achievement.issuer, data["external_id"])
    awarded = None
    if outcome is None:
        try:
            with transaction(session):
                outcome = issuance.record_result(achievement, data)
                if outcome.credential is not None:
                    record_issue(session, outcome.credential, external_id=data["external_id"])
                    # What this pass completes is awarded in the same transaction.
                    awarded = Pathways(session, services(), token=g.token).after_issue(
                        [(outcome.credential.id, achievement.id, outcome.credential.earner)])
        except IntegrityError:
            # A concurrent request with the same external_id won the race: answer as it did.
            outcome = issuance.previous_outcome(achievement.issuer, data["external_id"])
            if outcome is None:
                raise
    if outcome.result.achievement_id != achievement.id:
        # The key names another achievement's result: replaying that answer here would mislead.
        raise Conflict(
            "external_id_conflict",
            f"external_id {data['external_id']!r} was already used for another achievement of this issuer",
        )
    return result_answer(outcome, awarded=awarded)


def refuse_pathway_results(achievement: Achievement) -> None:
    """:raise Conflict: the achievement is a pathway, awarded for other credentials, never for a result."""
    if achievement.is_pathway:
        raise Conflict("pathway_takes_no_results", f"achievement {achievement.id} is a pathway: it is awarded when its "
                       "components are earned, not for an assessment result")


def record_issue(session, credential: Credential, **details) -> None:
    """The audit entry of a credential just signed, in the transaction that stores it: a renewal
    (a new pass of an earner who holds a current credential for the achievement) names the one it renews."""
    action, renewal = ("credential.renew", {"renews": credential.renews_id}) if credential.renews_id else ("credential.issue", {})
    audit.record(session, action=action, token=g.token, issuer_id=credential.issuer_id,
                 subject_type="credential", subject_id=credential.id, at=credential.issued_at,
                 details={**renewal, "achievement_id": credential.achievement_id, "result_id": credential.result_id,
                          **details})
    events.credential_issued(session, credential, now=credential.issued_at)


def answered_form(credential: Credential):
    """What an answer carries as `credential`: the VC-JWT of a "jwt" credential, else the JSON-LD."""
    return credential.jwt if credential.credential_format == "jwt" and credential.jwt else credential.document


def result_answer(outcome, *, awarded: dict | None = None):
    """`awarded`: what `Pathways.after_issue` answered when this request issued the credential
    (nothing awarded then needs no lookup)."""
    result, credential = outcome.result, outcome.credential
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if credential is None:
        body = {"passed": False, "result_id": result.id, "reason": result.reason}
        return ResultAnswerSchema().dump(body), 200, headers
    body = {"passed": True, "result_id": result.id, "credential_id": credential.id,
            "credential": answered_form(credential), "credential_format": credential.credential_format,
            "renews": credential.renews_id}
    awards = None if awarded is not None and not awarded.get(credential.id) else \
        Pathways(get_session(), services(), token=None).awards_for(credential.id)
    if awards:
        body["pathway_credentials"] = [{"credential_id": a.credential_id, "achievement_id": a.achievement_id}
                                       for a in awards]
    headers["Location"] = url_for("api.get_credential", credential_id=credential.id)
    return ResultAnswerSchema().dump(body), 201, headers


@bp.get("/credentials")
@auth.token_required
def list_credentials():
    query = _query(ListQuerySchema())
    if query["expiring_within"]:
        now = services().clock()
        statement = (select(Credential).where(expiry.expiring(now, expiry.window_end(now, query["expiring_within"])))
                     .order_by(*expiry.ORDER))
    else:
        statement = select(Credential).order_by(Credential.issued_at.desc(), Credential.id.desc())
    if g.token.issuer_id is not None:
        statement = statement.where(Credential.issuer_id == g.token.issuer_id)
    if query["issuer"]:
        statement = statement.where(Credential.issuer_id == issuer_by_slug(query["issuer"]).id)
    if query["achievement_id"]:
        if not is_id(query["achievement_id"]):
            raise ValidationFailed({"achievement_id": ["Not an achievement id."]})
        statement = statement.where(Credential.achievement_id == query["achievement_id"])
    if query["cursor"] and query["expiring_within"]:
        # This order has a cursor of its own: the last row's (valid_until, id), naming no row.
        after = expiry.after(query["cursor"])
        if after is None:
            raise ValidationFailed({"cursor": ["Unknown cursor."]})
        statement = statement.where(after)
    elif query["cursor"]:
        cursor = get_session().get(Credential, query["cursor"]) if is_id(query["cursor"]) else None
        # A scoped token's pages never hold another issuer's credential, so neither do its cursors.
        if cursor is None or (g.token.issuer_id is not None and cursor.issuer_id != g.token.issuer_id):
            raise ValidationFailed({"cursor": ["Unknown cursor."]})
        statement = statement.where(
            (Credential.issued_at < cursor.issued_at)
            | ((Credential.issued_at == cursor.issued_at) & (Credential.id < cursor.id))
        )
    rows = list(get_session().scalars(statement.limit(query["limit"] + 1)))
    page, more = rows[: query["limit"]], len(rows) > query["limit"]
    next_cursor = (expiry.cursor_of(page[-1]) if query["expiring_within"] else page[-1].id) if more else None
    return CredentialPageSchema().dump({"items": page, "next_cursor": next_cursor})


@bp.get("/credentials/<credential_id>")
@auth.token_required
def get_credential(credential_id):
    return CredentialSchema().dump(credential_in_scope(credential_id))


@bp.post("/credentials/<credential_id>/management-link")
@auth.token_required
def create_management_link(credential_id):
    """A new private management link for the earner (to resend it); the earlier link stops working.
    The link is answered once and never stored or logged: only its token's SHA-256 is kept."""
    session = get_session()
    credential = session.get(Credential, credential_id) if is_id(credential_id) else None
    if credential is None:
        raise NotFound("credential_not_found", f"there is no credential {credential_id!r}")
    auth.require_issuer_scope(credential.issuer)
    with transaction(session):
        url = new_management_link(session, credential, services().urls)
        audit.record(session, action="credential.management_link", token=g.token, issuer_id=credential.issuer_id,
                     subject_type="credential", subject_id=credential.id, at=services().clock())
    return ManagementLinkSchema().dump({"url": url}), 201, {"Cache-Control": "no-store"}


# --- lifecycle: revoke, suspend, unsuspend, reissue (issuer/lifecycle.py) ---------------------------

def credential_in_scope(credential_id: str) -> Credential:
    credential = get_session().get(Credential, credential_id) if is_id(credential_id) else None
    if credential is None:
        raise NotFound("credential_not_found", f"there is no credential {credential_id!r}")
    auth.require_issuer_scope(credential.issuer)
    return credential


def _change_status(credential_id: str, change: str):
    credential = credential_in_scope(credential_id)
    data = load(StatusChangeSchema())
    session = get_session()
    with transaction(session):
        getattr(Lifecycle(session, services()), change)(credential, reason=data["reason"], token=g.token)
    return CredentialSchema().dump(credential)


@bp.post("/credentials/<credential_id>/revoke")
@auth.token_required
def revoke_credential(credential_id):
    return _change_status(credential_id, "revoke")


@bp.post("/credentials/<credential_id>/suspend")
@auth.token_required
def suspend_credential(credential_id):
    return _change_status(credential_id, "suspend")


@bp.post("/credentials/<credential_id>/unsuspend")
@auth.token_required
def unsuspend_credential(credential_id):
    return _change_status(credential_id, "unsuspend")


@bp.post("/credentials/<credential_id>/reissue")
@auth.token_required
def reissue_credential(credential_id):
    credential = credential_in_scope(credential_id)
    data = load(ReissueSchema())
    session = get_session()
    with transaction(session):
        successor = Lifecycle(session, services()).reissue(
            credential, reason=data["reason"], token=g.token, score=data["score"], evidence=data["evidence"])
    body = {"credential_id": successor.id, "credential": answered_form(successor), "supersedes": credential.id}
    return ReissuedSchema().dump(body), 201, {"Location": url_for("api.get_credential", credential_id=successor.id)}


@bp.post("/credentials/revoke")
@auth.token_required
def revoke_credentials():
    """Revoke many credentials at once: all of them, or (any refused) none."""
    data = load(BulkRevokeSchema())
    session = get_session()
    with transaction(session):
        revoked = Lifecycle(session, services()).revoke_many(data["credential_ids"], reason=data["reason"], token=g.token)
    return BulkRevokedSchema().dump({"revoked": revoked})


def _query(schema) -> dict:
    """The query string through `schema`. An empty text parameter (`?cursor=`) means none; an empty
    number or duration is not one and is refused, as the OpenAPI document says."""
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as error:
        raise ValidationFailed(error.messages) from None


@bp.get("/audit")
@auth.token_required
def list_audit():
    """The audit log, newest first. An issuer token sees only its issuer's entries."""
    query = _query(AuditQuerySchema())
    statement = select(AuditEntry).options(selectinload(AuditEntry.issuer)).order_by(AuditEntry.id.desc())
    if g.token.issuer_id is not None:
        statement = statement.where(AuditEntry.issuer_id == g.token.issuer_id)
    if query["issuer"]:
        statement = statement.where(AuditEntry.issuer_id == issuer_by_slug(query["issuer"]).id)
    if query["cursor"]:
        statement = statement.where(AuditEntry.id < query["cursor"])
    rows = list(get_session().scalars(statement.limit(query["limit"] + 1)))
    page, more = rows[: query["limit"]], len(rows) > query["limit"]
    return AuditPageSchema().dump({"items": page, "next_cursor": str(page[-1].id) if more else None})


@bp.get("/tokens")
@auth.token_required
def list_tokens():
    """Tokens (never their hashes), oldest first: all of them for an instance token, an issuer's own for its tokens."""
    statement = select(ApiToken).options(selectinload(ApiToken.issuer)).order_by(ApiToken.created_at, ApiToken.id)
    if g.token.issuer_id is not None:
        statement = statement.where(ApiToken.issuer_id == g.token.issuer_id)
    return TokenListSchema().dump({"items": list(get_session().scalars(statement))})


@bp.post("/tokens")
@auth.token_required
def create_token_view():
    data = load(TokenCreateSchema())
    if data["issuer"] is None:
        auth.require_instance_scope()
        issuer = None
    else:
        issuer = issuer_by_slug(data["issuer"])
    session = get_session()
    now = services().clock()
    with transaction(session):
        token, plain = auth.create_token(session, issuer=issuer, label=data["label"], now=now)
        audit.token_created(session, token, by=g.token)
    body = TokenCreatedSchema().dump({**{c: getattr(token, c) for c in ("id", "label", "created_at", "revoked_at",
                                                                          "party_id")},
                                      "issuer": issuer, "token": plain})
    return body, 201, {"Cache-Control": "no-store"}


@bp.post("/tokens/<token_id>/revoke")
@auth.token_required
def revoke_token_view(token_id):
    session = get_session()
    token = session.get(ApiToken, token_id) if is_id(token_id) else None
    if token is None:
        raise NotFound("token_not_found", f"there is no token {token_id!r}")
    if g.token.issuer_id is not None and token.issuer_id != g.token.issuer_id:
        raise Forbidden("token_scope", "this token may revoke only tokens of its own issuer")
    data = load(TokenRevokeSchema(), json_body() if request.get_data(cache=True) else {})
    with transaction(session):
        auth.revoke_token(session, token, reason=data["reason"], by=g.token, now=services().clock())
    session.refresh(token)
    return TokenSchema().dump(token)
