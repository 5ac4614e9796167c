"""The admin and integration API, /api/v1. Every route needs a Bearer token."""

from __future__ import annotations

from marshmallow import ValidationError
from flask import Blueprint, current_app, g, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from issuer import auth
from issuer.bootstrap import create_issuer
from issuer.db import get_session, transaction
from issuer.errors import Conflict, NotFound, ValidationFailed
from issuer.models import Achievement, Credential, Issuer, is_id, new_id
from issuer.bodies import load
from schemas.achievement import AchievementCreateSchema, AchievementSchema
from schemas.common import SLUG
from schemas.credential import CredentialPageSchema, CredentialSchema, ListQuerySchema
from schemas.issuer import IssuerCreateSchema, IssuerSchema
from schemas.result import ResultAnswerSchema, ResultCreateSchema

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
    achievement = get_session().get(Achievement, achievement_id) if is_id(achievement_id) else None
    if achievement is None:
        raise NotFound("achievement_not_found", f"there is no achievement {achievement_id!r}")
    auth.require_issuer_scope(achievement.issuer)
    return achievement


def issuer_view(issuer: Issuer) -> dict:
    urls = services().urls
    view = IssuerSchema().dump({
        **{c: getattr(issuer, c) for c in ("did", "slug", "name", "url", "email", "description", "did_method", "created_at")},
        "profile_url": urls.issuer_profile(issuer.slug),
        "did_document_url": urls.did_document(issuer.slug) if issuer.did_method == "web" else None,
        "keys": [
            {"verification_method": k.verification_method, "public_key_multibase": k.public_key_multibase,
             "created_at": k.created_at, "retired_at": k.retired_at, "active": k.active}
            for k in issuer.keys
        ],
    })
    return view


def achievement_view(achievement: Achievement) -> dict:
    view = AchievementSchema().dump(achievement)
    view["url"] = services().urls.achievement(achievement.id)
    view["criteria"] = {"narrative": achievement.criteria_narrative}
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
    except IntegrityError:
        raise Conflict("issuer_exists", f"an issuer with slug {data['slug']!r} exists already") from None
    return issuer_view(issuer), 201, {"Location": url_for("api.get_issuer", slug=issuer.slug)}


@bp.get("/issuers/<slug>")
@auth.token_required
def get_issuer(slug):
    return issuer_view(issuer_by_slug(slug))


@bp.post("/issuers/<slug>/keys/rotate")
@auth.token_required
def rotate_key(slug):
    issuer = issuer_by_slug(slug)
    session = get_session()
    with transaction(session):
        services().keystore(session).rotate(issuer, now=services().clock())
    session.refresh(issuer)
    return issuer_view(issuer)


@bp.post("/issuers/<slug>/achievements")
@auth.token_required
def create_achievement(slug):
    issuer = issuer_by_slug(slug)
    data = load(AchievementCreateSchema())
    session = get_session()
    achievement = Achievement(
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
        created_at=services().clock(),
    )
    with transaction(session):
        session.add(achievement)
    return achievement_view(achievement), 201, {"Location": url_for("api.get_achievement", achievement_id=achievement.id)}


@bp.get("/achievements/<achievement_id>")
@auth.token_required
def get_achievement(achievement_id):
    return achievement_view(achievement_by_id(achievement_id))


@bp.post("/achievements/<achievement_id>/results")
@auth.token_required
def record_result(achievement_id):
    achievement = achievement_by_id(achievement_id)
    data = load(ResultCreateSchema())
    session = get_session()
    issuance = services().issuance(session)
    outcome = issuance.previous_outcome(achievement.issuer, data["external_id"])
    if outcome is None:
        try:
            with transaction(session):
                outcome = issuance.record_result(achievement, data)
        except IntegrityError:
            # A concurrent request with the same external_id won the race: answer as it did.
            outcome = issuance.previous_outcome(achievement.issuer, data["external_id"])
            if outcome is None:
                raise
    return result_answer(outcome)


def result_answer(outcome):
    result, credential = outcome.result, outcome.credential
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if credential is None:
        body = {"passed": False, "result_id": result.id, "reason": result.reason}
        return ResultAnswerSchema().dump(body), 200, headers
    body = {"passed": True, "result_id": result.id, "credential_id": credential.id, "credential": credential.document}
    headers["Location"] = url_for("api.get_credential", credential_id=credential.id)
    return ResultAnswerSchema().dump(body), 201, headers


@bp.get("/credentials")
@auth.token_required
def list_credentials():
    try:
        query = ListQuerySchema().load(request.args.to_dict())
    except ValidationError as error:
        raise ValidationFailed(error.messages) from None
    statement = select(Credential).order_by(Credential.issued_at.desc(), Credential.id.desc())
    if g.token.issuer_id is not None:
        statement = statement.where(Credential.issuer_id == g.token.issuer_id)
    if query["issuer"]:
        statement = statement.where(Credential.issuer_id == issuer_by_slug(query["issuer"]).id)
    if query["achievement_id"]:
        if not is_id(query["achievement_id"]):
            raise ValidationFailed({"achievement_id": ["Not an achievement id."]})
        statement = statement.where(Credential.achievement_id == query["achievement_id"])
    if query["cursor"]:
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
    return CredentialPageSchema().dump({"items": page, "next_cursor": page[-1].id if more else None})


@bp.get("/credentials/<credential_id>")
@auth.token_required
def get_credential(credential_id):
    credential = get_session().get(Credential, credential_id) if is_id(credential_id) else None
    if credential is None:
        raise NotFound("credential_not_found", f"there is no credential {credential_id!r}")
    auth.require_issuer_scope(credential.issuer)
    return CredentialSchema().dump(credential)
