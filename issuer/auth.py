"""Bearer tokens: stored as SHA-256, scoped to one issuer, to the whole instance, or to one
relying party (an employer). A relying party's token is refused by every route but the few that
are its own (`party_token_allowed`): it sees nothing of any issuer's data."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import wraps

from flask import g, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer.db import get_session
from issuer import audit
from issuer.errors import Conflict, Forbidden, Unauthorized
from issuer.models import ApiToken, Issuer, Party

TOKEN_PREFIX = "bdg_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, *, issuer: Issuer | None, label: str | None, now: datetime,
                 party: Party | None = None) -> tuple[ApiToken, str]:
    """A new token; the plain text is returned here once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(token_hash=hash_token(plain), issuer_id=issuer.id if issuer else None,
                     party_id=party.id if party else None, label=label, created_at=now)
    session.add(token)
    return token, plain


def create_party(session: Session, *, name: str, by: ApiToken | None, now: datetime,
                 email: str | None = None) -> tuple[Party, ApiToken, str]:
    """A relying party and its first token (the plain text returned here once), recorded in the
    audit log; `by` is the instance token that made it, None for the command line."""
    party = Party(name=name, email=email, created_at=now)
    session.add(party)
    session.flush()
    token, plain = create_token(session, issuer=None, party=party, label=f"party {name}"[:255], now=now)
    session.flush()
    audit.record(session, action="party.create", token=by, issuer_id=None, subject_type="party", subject_id=party.id,
                 at=now, details={"name": name, "token_id": token.id})
    return party, token, plain


def revoke_token(session: Session, token: ApiToken, *, reason: str | None, by: ApiToken | None,
                 now: datetime, user: str | None = None) -> None:
    """Revoke `token` (refused from its next request on) and record it in the audit log; `by` is
    the token that did it, None for the command line. The caller commits both together.

    :raise Conflict: the token was revoked already (also when a concurrent request just did), or
        it is the last instance token revoking itself (then nobody could administer the instance
        but from the command line).
    """
    if by is not None and by.id == token.id and token.issuer_id is None and token.party_id is None:
        # Locked, so two last instance tokens revoking themselves at once cannot both succeed.
        active = session.scalars(
            select(ApiToken.id).where(ApiToken.issuer_id.is_(None), ApiToken.party_id.is_(None),
                                      ApiToken.revoked_at.is_(None)).with_for_update()
        ).all()
        if set(active) <= {token.id}:
            raise Conflict("last_instance_token",
                           "this is the last instance token and cannot revoke itself: create another instance "
                           "token first (POST /api/v1/tokens), or run `badges token create` on the server")
    # Conditional, so of two concurrent revocations exactly one succeeds and is recorded.
    revoked = session.execute(
        update(ApiToken).where(ApiToken.id == token.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    if not revoked:
        raise Conflict("token_already_revoked", f"token {token.id} was revoked already")
    audit.record(session, action="token.revoke", token=by, issuer_id=token.issuer_id, subject_type="api_token",
                 subject_id=token.id, at=now, reason=reason, details={"label": token.label}, user=user)


def authenticate(session: Session, header: str | None) -> ApiToken:
    """:raise Unauthorized: no Bearer token, or one we do not know or that was revoked."""
    if not header:
        raise Unauthorized("token_missing", "send an API token as 'Authorization: Bearer <token>'")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("token_malformed", "the Authorization header must be 'Bearer <token>'")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(value.strip())))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("token_invalid", "the API token is not valid")
    return token


def token_required(view):
    """An issuer's or the instance's token; a relying party's is refused (403 token_scope)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.token = authenticate(get_session(), request.headers.get("Authorization"))
        if g.token.party_id is not None:
            raise Forbidden("token_scope", "a relying party's token cannot act on issuers' data")
        return view(*args, **kwargs)

    return wrapper


def party_token_allowed(view):
    """Any valid token, a relying party's included; the view keeps to the token's own things."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.token = authenticate(get_session(), request.headers.get("Authorization"))
        return view(*args, **kwargs)

    return wrapper


def require_instance_scope() -> None:
    if g.token.issuer_id is not None or g.token.party_id is not None:
        raise Forbidden("token_scope", "this action needs an instance token, not one scoped to an issuer or a "
                        "relying party")


def require_issuer_scope(issuer: Issuer) -> None:
    """:raise Forbidden: the token is scoped to another issuer."""
    if g.token.issuer_id is not None and g.token.issuer_id != issuer.id:
        raise Forbidden("token_scope", "this token is scoped to another issuer")
