"""Watches, /api/v1/watches (issue 12): a relying party's token only, and only its own watches."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from issuer import auth, watches
from issuer.bodies import json_body, load, refuse_nul_text
from issuer.db import get_session, transaction
from issuer.errors import Forbidden, NotFound, Unprocessable, ValidationFailed
from issuer.models import Watch, is_id
from schemas.watches import WatchCreateSchema, WatchDetailSchema, WatchListSchema, WatchQuerySchema
from verifier.fetcher import FetchError
from verifier.presentation import credentials_in
from verifier.verify import FETCH_ACCEPT

bp = Blueprint("watches", __name__, url_prefix="/api/v1")


def watcher() -> watches.Watcher:
    services = current_app.extensions["badges"]
    return watches.Watcher(current_app.extensions["verifier"](), services,
                           watches.settings_from_config(current_app.config))


def party_id() -> str:
    if g.token.party_id is None:
        raise Forbidden("token_scope", "watches belong to relying parties: use a relying party's token")
    return g.token.party_id


def _source() -> tuple[dict, dict]:
    """(source, details) of the request: a multipart upload, or JSON (credential, url, presentation)."""
    verifier = current_app.extensions["verifier"]()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed({"file": ["Missing data for required field."]})
        extra = {name: request.form.get(name) or None for name in ("label", "reference")}
        for name, value in extra.items():
            if value is not None and len(value) > 255:
                raise ValidationFailed({name: ["Longer than maximum length 255."]})
        return _read(upload.read(), filename=upload.filename, content_type=upload.mimetype), extra
    body = json_body()
    data = load(WatchCreateSchema(), body)
    extra = {"label": data["label"], "reference": data["reference"]}
    if "credential" in data:
        return _read(data["credential"]), extra
    if "url" in data:
        if verifier.fetcher is None:
            raise Unprocessable("fetch_refused", "this service fetches nothing")
        try:
            document = verifier.fetcher.budget().fetch(data["url"], accept=FETCH_ACCEPT)
        except FetchError as error:
            raise Unprocessable(error.code, f"could not fetch {data['url']}: {error}") from None
        return _read(document.body, content_type=document.content_type), extra
    result = verifier.verify_presentation(data["presentation"], challenge=data["challenge"], domain=data["domain"])
    own = result["presentation"]["checks"]
    if not (all(c["status"] != "failed" for c in own) and any(c["check"] == "proof" and c["status"] == "passed"
                                                               for c in own)):
        failed = next((c for c in own if c["status"] == "failed"), {"code": "presentation_not_verified",
                                                                    "message": "the presentation is not verified"})
        raise Unprocessable(failed.get("code") or "presentation_not_verified",
                            f"the presentation is not verified: {failed.get('message')}",
                            extra={"presentation": result["presentation"]})
    held = credentials_in(data["presentation"])
    if len(held) != 1:
        raise Unprocessable("one_credential_needed", f"the presentation holds {len(held)} credentials; "
                            "a watch follows one: present exactly one")
    return _read(held[0]), extra


def _read(data, **form) -> dict:
    try:
        return watches.source_of(data, **form)
    except watches.Unreadable as error:
        raise Unprocessable(error.code, f"not a credential: {error}") from None


def _watch(watch_id: str) -> Watch:
    mine = party_id()
    watch = get_session().scalar(select(Watch).where(Watch.id == watch_id, Watch.party_id == mine,
                                                     Watch.deleted_at.is_(None))) if is_id(watch_id) else None
    if watch is None:
        raise NotFound("watch_not_found", f"there is no watch {watch_id!r}")
    return watch


@bp.post("/watches")
@auth.party_token_allowed
def create_watch():
    mine = party_id()
    source, extra = _source()
    refuse_nul_text(source)
    session = get_session()
    now = current_app.extensions["badges"].clock()
    checker = watcher()
    report = checker.verify_source(source)  # before the transaction writes (see Watcher.verify_source)
    with transaction(session):
        watch = checker.create(session, party_id=mine, source=source, now=now, report=report, **extra)
    body = WatchDetailSchema().dump(watches.view(watch, watches.history_of(session, watch.id)))
    return body, 201, {"Location": url_for("watches.get_watch", watch_id=watch.id)}


@bp.get("/watches")
@auth.party_token_allowed
def list_watches():
    mine = party_id()
    try:
        query = WatchQuerySchema().load(request.args.to_dict())
    except ValidationError as error:
        raise ValidationFailed(error.messages) from None
    statement = select(Watch).where(Watch.party_id == mine, Watch.deleted_at.is_(None))
    if "state" in query:
        statement = statement.where(Watch.state == query["state"])
    if "changed_since" in query:
        statement = statement.where(Watch.changed_at >= query["changed_since"])
    rows = get_session().scalars(statement.order_by(Watch.created_at, Watch.id)
                                 .offset(query["offset"]).limit(query["limit"] + 1)).all()
    more = len(rows) > query["limit"]
    return WatchListSchema().dump({"items": [watches.view(w) for w in rows[:query["limit"]]],
                                   "next_offset": query["offset"] + query["limit"] if more else None})


@bp.get("/watches/<watch_id>")
@auth.party_token_allowed
def get_watch(watch_id):
    watch = _watch(watch_id)
    return WatchDetailSchema().dump(watches.view(watch, watches.history_of(get_session(), watch.id)))


@bp.delete("/watches/<watch_id>")
@auth.party_token_allowed
def delete_watch(watch_id):
    watch = _watch(watch_id)
    session = get_session()
    with transaction(session):
        watch.deleted_at = current_app.extensions["badges"].clock()
    return "", 204
