"""The earner's private management link: <base>/manage/<token>.

Whoever holds the link may choose the name shown on the credential's public page, hide or show
that page, and download the credential's files (also while the page is hidden). The token in the
URL is the only secret: we keep its SHA-256 alone (`Credential.manage_token_hash`), and a new link
replaces the earlier one. So that the token does not leak, every answer under /manage/ is marked
`Referrer-Policy: no-referrer` (links on the page do not send it on), `Cache-Control: no-store`
and `X-Robots-Tag: noindex`, and a POST from another origin is refused (CSRF).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer import audit, clr, public
from issuer.db import get_session, transaction
from issuer.errors import Forbidden, NotFound, problem
from issuer.models import Credential
from issuer.privacy import display_name, is_public
from issuer.urls import Urls

bp = Blueprint("manage", __name__)

MAX_DISPLAY_NAME = 80
# secrets.token_urlsafe(32): 43 characters of base64url. Anything else names no link.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}\Z")


def hash_manage_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_management_link(session: Session, credential: Credential, urls: Urls) -> str:
    """Make a fresh management link for `credential` and return its URL. Only the token's SHA-256
    is stored, replacing any earlier link's (which stops working). The caller commits, and must
    commit before sending the link anywhere: an uncommitted link leads nowhere."""
    token = secrets.token_urlsafe(32)
    credential.manage_token_hash = hash_manage_token(token)
    session.flush()
    return urls.manage(token)


def credential_for_token(session: Session, token: str) -> Credential | None:
    """The credential this management token belongs to; None for a malformed, unknown or replaced token."""
    if not _TOKEN.match(token):
        return None
    return session.scalar(select(Credential).where(Credential.manage_token_hash == hash_manage_token(token)))


class ManagementLinkNotFound(NotFound):
    def __init__(self):
        super().__init__("management_link_not_found",
                         "this management link is not valid; it may have been replaced by a newer one")


def _credential(token: str) -> Credential:
    credential = credential_for_token(get_session(), token)
    if credential is None:
        raise ManagementLinkNotFound()
    return credential


@bp.after_request
def _private(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Frame-Options"] = "DENY"  # and the app's Content-Security-Policy (issuer/headers.py)
    return response


@bp.errorhandler(ManagementLinkNotFound)
def _not_found_page(error: ManagementLinkNotFound):
    """A browser that follows a dead link gets a page; other clients get the problem+json."""
    if _wants_html():
        return render_template("manage.html", credential=None, error=error.detail), 404
    return problem(error.status, error.code, error.title, error.detail)


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/problem+json", "application/json", "text/html"])
    return best == "text/html"


def _same_origin() -> bool:
    """A POST from our own page carries our origin; one from another site carries its own. No
    Origin header at all (old browsers, scripts) is let through: the token is still needed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return _origin(origin) == _origin(current_app.extensions["badges"].urls.base_url)


def _origin(url: str) -> tuple | None:
    """(scheme, host, port) with the default port filled in; None for "null" or anything unreadable."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def _page(credential: Credential, token: str, *, error: str | None = None, saved: bool = False,
          name: str | None = None, public: bool | None = None):
    achievement = credential.document.get("credentialSubject", {}).get("achievement", {})
    return render_template(
        "manage.html",
        credential=credential,
        token=token,
        title=credential.document.get("name") or achievement.get("name") or "Your credential",
        issuer_name=credential.issuer.name,
        public=is_public(credential) if public is None else public,
        name=display_name(credential) if name is None else name,
        max_name=MAX_DISPLAY_NAME,
        page_url=current_app.extensions["badges"].urls.credential(credential.id),
        error=error,
        saved=saved,
    )


@bp.get("/manage/<token>")
def manage_page(token):
    credential = _credential(token)
    return _page(credential, token, saved=request.args.get("saved") == "1")


def _read_display_name(text: str) -> tuple[str | None, str | None]:
    """(the name to store or None for none, an error message or None)."""
    name = text.strip()
    if len(name) > MAX_DISPLAY_NAME:
        return None, f"The name can be at most {MAX_DISPLAY_NAME} characters long."
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        return None, "The name cannot contain control characters."
    return name or None, None


@bp.post("/manage/<token>")
def save_choices(token):
    if not _same_origin():
        raise Forbidden("cross_origin_request", "this form can only be sent from its own page")
    session = get_session()
    credential = _credential(token)
    name, error = _read_display_name(request.form.get("display_name", ""))
    visibility = request.form.get("visibility")
    if error is None and visibility not in ("public", "hidden"):
        error = "Choose whether the page is public or hidden."
    if error is not None:
        submitted_public = {"public": True, "hidden": False}.get(visibility)
        return _page(credential, token, error=error, name=request.form.get("display_name", ""),
                     public=submitted_public), 422
    shown = visibility == "public"
    with transaction(session):
        # Conditional on the token, so a link replaced meanwhile saves nothing.
        changed = session.execute(
            update(Credential)
            .where(Credential.id == credential.id, Credential.manage_token_hash == hash_manage_token(token))
            .values(public=shown, display_name=name)
        ).rowcount
        if not changed:
            raise ManagementLinkNotFound()
        audit.record(session, action="credential.earner_update", token=None, actor="earner",
                     issuer_id=credential.issuer_id, subject_type="credential", subject_id=credential.id,
                     at=current_app.extensions["badges"].clock(),
                     details={"public": shown, "display_name_set": name is not None})
    return redirect(url_for("manage.manage_page", token=token, saved="1"), code=303)


@bp.get("/manage/<token>/badge.png")
def download_badge_png(token):
    """The baked PNG badge, as /credentials/<id>/badge.png serves it, also while the page is hidden."""
    return public.baked_badge_response(_credential(token), "png")


@bp.get("/manage/<token>/badge.svg")
def download_badge_svg(token):
    """The baked SVG badge, as /credentials/<id>/badge.svg serves it, also while the page is hidden."""
    return public.baked_badge_response(_credential(token), "svg")


@bp.get("/manage/<token>/credential.json")
def download_credential(token):
    """The signed credential as a file, also while its page is hidden."""
    credential = _credential(token)
    response = current_app.response_class(
        json.dumps(credential.document, ensure_ascii=False, indent=2), mimetype="application/ld+json"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="credential-{credential.id}.json"'
    return response


@bp.get("/manage/<token>/clr.json")
def download_clr(token):
    """A signed Comprehensive Learner Record of the earner's current credentials from this
    credential's issuer (also those whose pages are hidden)."""
    credential = _credential(token)
    session = get_session()
    services = current_app.extensions["badges"]
    with transaction(session):
        document = clr.issue_record(session, services.clr(session), credential.issuer, credential.earner,
                                    token=None, actor="earner", at=services.clock())
    response = current_app.response_class(json.dumps(document, ensure_ascii=False, indent=2),
                                          mimetype="application/ld+json")
    response.headers["Content-Disposition"] = 'attachment; filename="learner-record.json"'
    return response
