"""The relying party's page (issue 12): /parties/watches lists its watches, each with its current
verdict and timeline. Server-rendered; works without JavaScript.

Sign-in: the party pastes its token into the form at /parties/sign-in. The token is checked, then
kept in a cookie scoped to /parties (HttpOnly, SameSite=Strict, Secure over HTTPS) that the pages
read as they would a Bearer header; a revoked token stops working at the next page. Forms that
change anything (sign-in, sign-out) carry a CSRF token that must equal the one in a cookie of its
own (double submit), and a POST from another origin is refused; every answer is no-store.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from issuer import auth, watches
from issuer.db import get_session
from issuer.errors import Unauthorized
from issuer.manage import _same_origin
from issuer.models import Party, Watch

bp = Blueprint("party_pages", __name__)

SESSION_COOKIE, CSRF_COOKIE = "badges_party", "badges_party_csrf"
STATE_WORDS = {"valid": "Valid", "revoked": "Revoked", "suspended": "Suspended", "expired": "Expired",
               "unverifiable": "Cannot be checked", "invalid": "Not valid"}
STATE_STYLE = {"valid": "verified", "revoked": "revoked", "suspended": "suspended", "expired": "expired",
               "unverifiable": "unverified", "invalid": "revoked"}


def _cookie(response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/parties", httponly=True, samesite="Strict",
                        secure=request.is_secure)


def _csrf() -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def _csrf_ok() -> bool:
    expected, given = request.cookies.get(CSRF_COOKIE), request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(expected, given) and _same_origin()


def _page(template: str, status: int = 200, **context):
    token = _csrf()
    response = current_app.make_response((render_template(template, csrf_token=token, words=STATE_WORDS,
                                                          styles=STATE_STYLE, **context), status))
    _cookie(response, CSRF_COOKIE, token)
    response.headers["Cache-Control"] = "no-store"
    return response


def _party() -> Party | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        found = auth.authenticate(get_session(), f"Bearer {token}")
    except Unauthorized:
        return None
    return get_session().get(Party, found.party_id) if found.party_id else None


@bp.get("/parties/sign-in")
def sign_in_page():
    return _page("party_sign_in.html")


@bp.post("/parties/sign-in")
def sign_in():
    if not _csrf_ok():
        return _page("party_sign_in.html", 403, error="The form expired or came from another site: try again.")
    token = (request.form.get("token") or "").strip()
    try:
        found = auth.authenticate(get_session(), f"Bearer {token}")
    except Unauthorized:
        found = None
    if found is None or found.party_id is None:
        return _page("party_sign_in.html", 401, error="That is not a relying party's token.")
    response = redirect(url_for("party_pages.watches_page"), 303)
    _cookie(response, SESSION_COOKIE, token, max_age=8 * 3600)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/parties/sign-out")
def sign_out():
    if not _csrf_ok():  # a forged or stale form signs nobody out
        return _page("party_sign_in.html", 403, error="The form expired or came from another site: try again.")
    response = redirect(url_for("party_pages.sign_in_page"), 303)
    response.delete_cookie(SESSION_COOKIE, path="/parties", httponly=True, samesite="Strict",
                           secure=request.is_secure)
    return response


@bp.get("/parties/watches")
def watches_page():
    party = _party()
    if party is None:
        return redirect(url_for("party_pages.sign_in_page"), 303)
    state = request.args.get("state")
    statement = select(Watch).where(Watch.party_id == party.id, Watch.deleted_at.is_(None))
    if state in STATE_WORDS:
        statement = statement.where(Watch.state == state)
    session = get_session()
    rows = session.scalars(statement.order_by(Watch.changed_at.desc(), Watch.id).limit(500)).all()
    items = [watches.view(w, watches.history_of(session, w.id)) for w in rows]
    return _page("party_watches.html", party=party, items=items, state=state if state in STATE_WORDS else None)
