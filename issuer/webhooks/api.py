"""Relying parties and webhook endpoints, /api/v1 (issue 12).

A relying party's token reaches only the routes here marked `party_token_allowed`, and there only
its own endpoints; an issuer's token only its issuer's endpoints; an instance token the issuers'
endpoints, never a party's (a party's things are its own)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request, url_for
from sqlalchemy import select

from issuer import auth, webhooks
from issuer.webhooks import events
from issuer.api import issuer_by_slug
from issuer.bodies import load
from issuer.db import get_session, transaction
from issuer.errors import Forbidden, NotFound, ValidationFailed
from issuer.models import Issuer, WebhookEndpoint, is_id
from marshmallow import ValidationError
from schemas.hooks import (DeliveryListSchema, DeliveryQuerySchema, PartyCreateSchema, PartyCreatedSchema,
                           RedeliveredSchema, WebhookCreateSchema, WebhookCreatedSchema, WebhookListSchema,
                           WebhookSchema, WebhookSecretSchema)

bp = Blueprint("hooks", __name__, url_prefix="/api/v1")


def services():
    return current_app.extensions["badges"]


def webhook_settings() -> webhooks.WebhookSettings:
    return webhooks.settings_from_config(current_app.config)


@bp.post("/parties")
@auth.token_required
def create_party():
    auth.require_instance_scope()
    data = load(PartyCreateSchema())
    session = get_session()
    now = services().clock()
    with transaction(session):
        party, token, plain = auth.create_party(session, name=data["name"], email=data["email"], by=g.token, now=now)
    return PartyCreatedSchema().dump({"id": party.id, "name": party.name, "email": party.email, "token": plain,
                                      "token_id": token.id}), 201


def _view(endpoint: WebhookEndpoint, **extra) -> dict:
    owner = f"party:{endpoint.party_id}" if endpoint.party_id else \
        f"issuer:{get_session().get(Issuer, endpoint.issuer_id).slug}"
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events, "owner": owner,
            "created_at": endpoint.created_at, "disabled_at": endpoint.disabled_at,
            "disabled_reason": endpoint.disabled_reason, **extra}


def _mine():
    """The condition selecting the endpoints this token may see."""
    token = g.token
    if token.party_id is not None:
        return WebhookEndpoint.party_id == token.party_id
    if token.issuer_id is not None:
        return WebhookEndpoint.issuer_id == token.issuer_id
    return WebhookEndpoint.issuer_id.is_not(None)


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    endpoint = get_session().scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None), _mine())
    ) if is_id(endpoint_id) else None
    if endpoint is None:
        # Another owner's endpoint is not found either: its existence is not ours to tell.
        raise NotFound("webhook_not_found", f"there is no webhook endpoint {endpoint_id!r}")
    return endpoint


@bp.post("/webhooks")
@auth.party_token_allowed
def create_webhook():
    data = load(WebhookCreateSchema())
    token = g.token
    issuer_id, party_id = None, None
    if token.party_id is not None:
        if data["issuer"] is not None:
            raise Forbidden("token_scope", "a relying party's endpoints receive its own events, not an issuer's")
        party_id, allowed = token.party_id, events.PARTY_EVENTS
    else:
        if data["issuer"] is not None:
            issuer_id = issuer_by_slug(data["issuer"]).id
        elif token.issuer_id is not None:
            issuer_id = token.issuer_id
        else:
            raise ValidationFailed({"issuer": ["An instance token must name the issuer whose events are sent."]})
        allowed = events.ISSUER_EVENTS
    try:
        data["events"] = webhooks.check_new_endpoint(webhook_settings(), url=data["url"], events=data["events"],
                                                     allowed=allowed)
    except webhooks.EndpointInvalid as error:
        if error.field == "url":
            raise ValidationFailed({"url": [error.message]}, "the webhook URL is refused by the address guard") from None
        raise ValidationFailed({error.field: [error.message]}) from None
    session = get_session()
    with transaction(session):
        endpoint, secret = webhooks.create_endpoint(
            session, services(), url=data["url"], events=data["events"], issuer_id=issuer_id, party_id=party_id,
            token=token, now=services().clock())
    return (WebhookCreatedSchema().dump(_view(endpoint, secret=secret)), 201,
            {"Location": url_for("hooks.get_webhook", endpoint_id=endpoint.id)})


@bp.get("/webhooks")
@auth.party_token_allowed
def list_webhooks():
    rows = get_session().scalars(select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None), _mine())
                                 .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))
    return WebhookListSchema().dump({"items": [_view(e) for e in rows]})


@bp.get("/webhooks/<endpoint_id>")
@auth.party_token_allowed
def get_webhook(endpoint_id):
    return WebhookSchema().dump(_view(_endpoint(endpoint_id)))


@bp.delete("/webhooks/<endpoint_id>")
@auth.party_token_allowed
def delete_webhook(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    session = get_session()
    now = services().clock()
    with transaction(session):
        webhooks.delete_endpoint(session, endpoint, token=g.token, now=now)
    return "", 204


@bp.post("/webhooks/<endpoint_id>/rotate-secret")
@auth.party_token_allowed
def rotate_webhook_secret(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    session = get_session()
    with transaction(session):
        secret = webhooks.rotate_secret(session, services(), endpoint, token=g.token, now=services().clock())
    return WebhookSecretSchema().dump({"id": endpoint.id, "secret": secret})


@bp.get("/webhooks/<endpoint_id>/deliveries")
@auth.party_token_allowed
def list_deliveries(endpoint_id):
    endpoint = _endpoint(endpoint_id)
    try:
        query = DeliveryQuerySchema().load(request.args.to_dict())
    except ValidationError as error:
        raise ValidationFailed(error.messages) from None
    items = webhooks.attempts(get_session(), endpoint, limit=query["limit"])
    return DeliveryListSchema().dump({"items": items})


@bp.post("/webhooks/<endpoint_id>/messages/<message_id>/redeliver")
@auth.party_token_allowed
def redeliver_message(endpoint_id, message_id):
    endpoint = _endpoint(endpoint_id)
    session = get_session()
    message = webhooks.message_of(session, endpoint, message_id)
    if message is None:
        raise NotFound("message_not_found", f"endpoint {endpoint.id} has no message {message_id!r}")
    with transaction(session):
        webhooks.redeliver(session, message, endpoint, token=g.token, now=services().clock())
    return RedeliveredSchema().dump({"message_id": message.id, "state": message.state}), 202
