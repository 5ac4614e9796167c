"""Public documents, no token: credentials, issuer profiles, DID documents, achievements."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from issuer.db import get_session, transaction
from issuer.errors import NotFound
from issuer.keystore import verification_methods
from issuer.models import Achievement, Credential, Issuer, StatusList, is_id
from schemas.common import SLUG
from issuer.openbadges import CONTEXTS
from keys import did_web_document

bp = Blueprint("public", __name__)

JSON_LD_TYPES = ["application/ld+json", "application/vc+ld+json", "application/json"]


def services():
    return current_app.extensions["badges"]


def json_ld(document: dict, *, default: str = "application/ld+json"):
    """Answer in the JSON type the client asked for (all three carry the same bytes)."""
    chosen = request.accept_mimetypes.best_match(JSON_LD_TYPES, default=default)
    response = jsonify(document)
    response.mimetype = chosen if chosen in JSON_LD_TYPES else default
    response.vary.add("Accept")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _issuer(slug: str) -> Issuer:
    issuer = get_session().scalar(select(Issuer).where(Issuer.slug == slug)) if SLUG.match(slug) else None
    if issuer is None:
        raise NotFound("issuer_not_found", f"there is no issuer {slug!r}")
    return issuer


@bp.get("/credentials/<credential_id>")
def credential(credential_id):
    record = get_session().get(Credential, credential_id) if is_id(credential_id) else None
    if record is None:
        raise NotFound("credential_not_found", f"there is no credential {credential_id!r}")
    return json_ld(record.document)


@bp.get("/issuers/<slug>")
def issuer_profile(slug):
    issuer = _issuer(slug)
    document = {"@context": list(CONTEXTS), **services().issuance(get_session()).issuer_profile(issuer)}
    return json_ld(document)


@bp.get("/issuers/<slug>/did.json")
def did_document(slug):
    issuer = _issuer(slug)
    if issuer.did_method != "web":
        raise NotFound("not_did_web", f"issuer {slug!r} is identified by {issuer.did}, which needs no DID document")
    methods = verification_methods(get_session(), issuer)
    response = jsonify(did_web_document(issuer.did, methods))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/achievements/<achievement_id>")
def achievement(achievement_id):
    record = get_session().get(Achievement, achievement_id) if is_id(achievement_id) else None
    if record is None:
        raise NotFound("achievement_not_found", f"there is no achievement {achievement_id!r}")
    document = {"@context": list(CONTEXTS), **services().issuance(get_session()).achievement_document(record)}
    return json_ld(document)


@bp.get("/status/<list_id>")
def status_list(list_id):
    """A signed BitstringStatusListCredential. Served as stored while unchanged; signed again at
    the first fetch after a change, or before its validity runs out."""
    session = get_session()
    record = session.get(StatusList, list_id) if is_id(list_id) else None
    if record is None:
        raise NotFound("status_list_not_found", f"there is no status list {list_id!r}")
    with transaction(session):
        publication = services().status_lists(session).publication(record)
    if request.if_none_match.contains_weak(publication.etag):
        response = current_app.response_class(status=304)
    else:
        response = json_ld(publication.document, default="application/vc+ld+json")
    response.set_etag(publication.etag)
    response.cache_control.public = True
    response.cache_control.max_age = publication.max_age
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
