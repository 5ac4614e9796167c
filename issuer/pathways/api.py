"""/api/v1 routes of pathways: define, read, change (until awarded), and an earner's progress."""

from __future__ import annotations

from flask import Blueprint, g, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from issuer import audit, auth
from issuer.api import _query, issuer_by_slug, services
from issuer.bodies import load
from issuer.db import get_session, transaction
from issuer.errors import NotFound, ValidationFailed
from issuer.models import Achievement, Issuer, is_id
from issuer.pathways.requirements import RequirementsInvalid
from issuer.pathways.services import Pathways
from schemas.pathway import PathwayCreateSchema, PathwaySchema, PathwayUpdateSchema, ProgressQuerySchema, ProgressSchema

bp = Blueprint("pathways", __name__, url_prefix="/api/v1")


def pathway_by_id(pathway_id: str) -> Achievement:
    pathway = (get_session().get(Achievement, pathway_id, options=[joinedload(Achievement.issuer)])
               if is_id(pathway_id) else None)
    if pathway is None or not pathway.is_pathway:
        raise NotFound("pathway_not_found", f"there is no pathway {pathway_id!r}")
    auth.require_issuer_scope(pathway.issuer)
    return pathway


def pathway_view(pathway: Achievement, pathways: Pathways) -> dict:
    return PathwaySchema().dump({
        "id": pathway.id, "url": services().urls.achievement(pathway.id), "issuer": pathway.issuer,
        "name": pathway.name, "description": pathway.description,
        "criteria": {"narrative": pathway.criteria_narrative}, "achievement_type": pathway.achievement_type,
        "requirements": pathway.requirements, "valid_for": pathway.valid_for,
        "all_valid_at_once": pathway.all_valid_at_once, "awarded": pathways.awarded(pathway),
        "created_at": pathway.created_at,
    })


def _invalid(error: RequirementsInvalid) -> ValidationFailed:
    return ValidationFailed(error.errors, "the requirements are not usable; errors names each part by its JSON path")


def _checked_requirements(pathways: Pathways, issuer: Issuer, tree: dict, pathway_id: str | None) -> dict:
    try:
        return pathways.check_requirements(issuer, tree, pathway_id=pathway_id)
    except RequirementsInvalid as error:
        raise _invalid(error) from None


def _apply(pathway: Achievement, data: dict) -> None:
    for field in ("name", "description", "achievement_type", "valid_for", "all_valid_at_once", "requirements"):
        if field in data:
            setattr(pathway, field, data[field])
    if "criteria" in data:
        pathway.criteria_narrative = data["criteria"]["narrative"]


@bp.post("/issuers/<slug>/pathways")
@auth.token_required
def create_pathway(slug):
    issuer = issuer_by_slug(slug)
    data = load(PathwayCreateSchema())
    session = get_session()
    pathways = Pathways(session, services(), token=g.token)
    with transaction(session):
        try:
            pathway = pathways.create(issuer, data)
        except RequirementsInvalid as error:
            raise _invalid(error) from None
    return (pathway_view(pathway, pathways), 201,
            {"Location": url_for("pathways.get_pathway", pathway_id=pathway.id)})


@bp.get("/pathways/<pathway_id>")
@auth.token_required
def get_pathway(pathway_id):
    return pathway_view(pathway_by_id(pathway_id), Pathways(get_session(), services(), token=g.token))


@bp.route("/pathways/<pathway_id>", methods=["PUT", "PATCH"])
@auth.token_required
def update_pathway(pathway_id):
    """PUT replaces the definition, PATCH changes the fields sent; either only while no credential
    of the pathway has been awarded (409 pathway_awarded)."""
    pathway = pathway_by_id(pathway_id)
    data = load(PathwayUpdateSchema() if request.method == "PATCH" else PathwayCreateSchema())
    session = get_session()
    pathways = Pathways(session, services(), token=g.token)
    with transaction(session):
        pathways.require_unawarded(pathway)
        if "requirements" in data:
            data["requirements"] = _checked_requirements(pathways, pathway.issuer, data["requirements"], pathway.id)
        _apply(pathway, data)
        pathways.set_components(pathway)
        audit.record(session, action="pathway.update", token=g.token, issuer_id=pathway.issuer_id,
                     subject_type="achievement", subject_id=pathway.id, at=services().clock(),
                     details={"fields": sorted(data)})
    return pathway_view(pathway, pathways)


@bp.get("/earners/progress")
@auth.token_required
def earner_progress():
    """Progress of one earner (by email or DID) towards each pathway: an issuer token sees its own
    issuer's pathways, an instance token every issuer's (or ?issuer=)."""
    query = _query(ProgressQuerySchema())
    if bool(query["email"]) == bool(query["did"]):
        raise ValidationFailed({"email": ["Give exactly one of email or did."]})
    earner = f"mailto:{query['email'].strip().lower()}" if query["email"] else query["did"]
    issuer_id = g.token.issuer_id
    if query["issuer"]:
        issuer_id = issuer_by_slug(query["issuer"]).id
    pathways = Pathways(get_session(), services(), token=g.token).progress(earner, issuer_id=issuer_id)
    return ProgressSchema().dump({"earner": query["email"] or query["did"], "pathways": pathways})
