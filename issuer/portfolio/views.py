"""The earner's pages: /me (sign in by a one-time email link, then the portfolio) and /p/<slug>
(a published portfolio, public).

Signing in: the earner posts an email address; whatever it is, the answer is the same page, so
nobody learns which addresses hold credentials here. The request puts one job on the task queue
for any well-formed address; the job mails a link when credentials were issued to it (mail.py), one
that works once, for `PORTFOLIO_LINK_MINUTES`. Opening the link shows a button (a mail
scanner that fetches the link does not spend it); pressing it spends the link and sets the
earner's own cookie: signed, HttpOnly, SameSite=Lax, Secure over https, scoped to /me, lasting
`PORTFOLIO_SESSION_MINUTES`. It is separate from any admin session. Every form carries a CSRF
token (Flask-WTF), and every answer under /me is private (no-store, no referrer, noindex).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from issuer import audit, public
from issuer.db import get_session, transaction
from issuer.errors import problem
from issuer.models import Credential, is_id
from issuer.pages import credential_status, credential_view
from issuer.portfolio import services as portfolio
from issuer.privacy import is_public

log = logging.getLogger(__name__)

bp = Blueprint("portfolio", __name__, template_folder="templates")

COOKIE = "badges_earner"
COOKIE_PATH = "/me"
_SALT = "badges-earner-session"


class Form(FlaskForm):
    """Any of our forms: its fields are read from request.form; FlaskForm adds and checks the CSRF token."""


def _posted() -> Form:
    """The posted form, read as a form whatever the body claims to be (FlaskForm would read a JSON body)."""
    return Form(formdata=request.form)


# ---------------------------------------------------------------- the earner's session


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _session_lifetime() -> timedelta:
    return timedelta(minutes=int(current_app.config["PORTFOLIO_SESSION_MINUTES"]))


def signed_in_email() -> str | None:
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        email = _serializer().loads(value, max_age=_session_lifetime().total_seconds())
    except BadSignature:
        return None
    return email if isinstance(email, str) and portfolio.read_email(email) == email else None


def _set_session(response, email: str):
    response.set_cookie(COOKIE, _serializer().dumps(email), max_age=int(_session_lifetime().total_seconds()),
                        path=COOKIE_PATH, secure=request.is_secure, httponly=True, samesite="Lax")
    return response


def _signed_in() -> str:
    email = signed_in_email()
    if email is None:
        abort(redirect(url_for("portfolio.me"), code=303))
    return email


def _now():
    return current_app.extensions["badges"].clock()


@bp.after_request
def _private(response):
    if request.path.startswith("/me"):
        response.headers["Referrer-Policy"] = "no-referrer"  # the sign-in link's token stays here
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _error(status: int, code: str, title: str, message: str, *, link: str | None = None):
    """A page for a browser; the problem+json (with its stable code) for any other client."""
    best = request.accept_mimetypes.best_match(["application/problem+json", "application/json", "text/html"])
    if best == "text/html":
        return render_template("portfolio/message.html", title=title, message=message, link=link), status
    return problem(status, code, title, message)


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError):
    # 403, not Flask-WTF's 400: the request may be well formed, it is the missing proof of origin that is refused.
    return _error(403, "csrf_failed", "This form has expired",
                  "The form was too old or not sent from this site. Go back, reload the page and try again.",
                  link=url_for("portfolio.me"))


# ---------------------------------------------------------------- sign-in


@bp.get("/me")
def me():
    email = signed_in_email()
    if email is None:
        return render_template("portfolio/sign_in.html", form=Form(), error=None, email="")
    return _portfolio_page(email)


@bp.post("/me")
def request_link():
    form = _posted()
    if not form.validate_on_submit():
        raise CSRFError(form.errors.get("csrf_token", ["The CSRF token is missing."])[0])
    email = portfolio.read_email(request.form.get("email", ""))
    if email is None:
        return render_template("portfolio/sign_in.html", form=form, email=request.form.get("email", ""),
                               error="Enter the email address your credentials were sent to."), 422
    # The same work and the same page whatever the address: one job on the queue, which looks the
    # address up and mails the link (issuer/portfolio/mail.py). Nothing here tells, by its answer or
    # its time, which addresses hold credentials.
    try:
        current_app.extensions["queue"].enqueue("sign_in_link", email)
    except Exception as error:  # the queue's storage is down: said the same way for every address
        log.error("sign-in link not sent: could not put its job on the queue: %s", error)
    return render_template("portfolio/message.html", title="Check your email",
                           message=f"If credentials were issued to {email} here, we have sent a sign-in link to it. "
                                   f"The link works once, within {current_app.config['PORTFOLIO_LINK_MINUTES']} "
                                   "minutes.", link=None)


@bp.get("/me/sign-in/<token>")
def confirm(token):
    if portfolio.usable_link(get_session(), token, now=_now()) is None:
        return _dead_link()
    return render_template("portfolio/confirm.html", form=Form(), token=token)


def _dead_link():
    return _error(404, "sign_in_link_not_found", "This sign-in link is not valid",
                  "It has been used already, has expired, or was never sent. Ask for a new one.",
                  link=url_for("portfolio.me"))


@bp.post("/me/sign-in/<token>")
def sign_in(token):
    _check_form()
    session = get_session()
    with transaction(session):
        email = portfolio.use_link(session, token, now=_now())
    if email is None:
        return _dead_link()
    return _set_session(redirect(url_for("portfolio.me"), code=303), email)


@bp.post("/me/sign-out")
def sign_out():
    _check_form()
    response = redirect(url_for("portfolio.me"), code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=request.is_secure, httponly=True, samesite="Lax")
    return response


def _check_form() -> Form:
    form = _posted()
    if not form.validate_on_submit():
        raise CSRFError(form.errors.get("csrf_token", ["The CSRF token is missing."])[0])
    return form


# ---------------------------------------------------------------- the portfolio


def _portfolio_page(email: str, *, error: str | None = None, status: int = 200, form_values: dict | None = None):
    session = get_session()
    own = portfolio.credentials_of(session, email)
    now = _now()
    window = timedelta(days=int(current_app.config["PORTFOLIO_RENEWAL_WINDOW_DAYS"]))
    view = portfolio.overview(own, now=now, renewal_window=window, is_public=is_public)
    page = portfolio.portfolio_of(session, email)
    values = form_values or {
        "slug": page.slug if page else "",
        "title": page.title if page else "My credentials",
        "picked": set(page.credential_ids) if page else {e.credential.id for e in view.entries
                                                          if e.state == "current" and e.public},
    }
    urls = current_app.extensions["badges"].urls
    return render_template(
        "portfolio/me.html", form=Form(), email=email, view=view, page=page, values=values, error=error,
        saved=request.args.get("saved"), window_days=window.days, now=now,
        page_url=urls.base_url.rstrip("/") + url_for("portfolio.published", slug=page.slug) if page else None,
    ), status


def _own_credential(session, email: str, credential_id: str) -> Credential | None:
    if not is_id(credential_id):
        return None
    return next((c for c in portfolio.credentials_of(session, email) if c.id == credential_id), None)


@bp.post("/me/credentials/<credential_id>/visibility")
def set_visibility(credential_id):
    _check_form()  # before the sign-in check: a forged form is refused, not redirected
    email = _signed_in()
    visibility = request.form.get("visibility")
    if visibility not in ("public", "hidden"):
        return _portfolio_page(email, error="Choose whether the page is public or hidden.", status=422)
    session = get_session()
    credential = _own_credential(session, email, credential_id)
    if credential is None:
        return _error(404, "credential_not_found", "No such credential of yours",
                      "No credential with this id was issued to you here.", link=url_for("portfolio.me"))
    shown = visibility == "public"
    with transaction(session):
        session.execute(update(Credential).where(Credential.id == credential.id).values(public=shown))
        audit.record(session, action="credential.earner_update", token=None, actor="earner",
                     issuer_id=credential.issuer_id, subject_type="credential", subject_id=credential.id,
                     at=_now(), details={"public": shown, "via": "portfolio"})
    return redirect(url_for("portfolio.me", saved="visibility") + f"#credential-{credential.id}", code=303)


@bp.get("/me/credentials.zip")
def download_everything():
    email = _signed_in()
    own = portfolio.credentials_of(get_session(), email)
    data = portfolio.archive(own, lambda c: public.baked_badge_response(c, "png").get_data())
    response = current_app.response_class(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = 'attachment; filename="my-credentials.zip"'
    return response


@bp.post("/me/portfolio")
def publish():
    _check_form()  # before the sign-in check: a forged form is refused, not redirected
    email = _signed_in()
    session = get_session()
    picked = request.form.getlist("credential")
    values = {"slug": request.form.get("slug", ""), "title": request.form.get("title", ""), "picked": set(picked)}
    own = portfolio.credentials_of(session, email)
    try:
        with transaction(session):
            portfolio.publish(session, email, slug=values["slug"], title=values["title"], picked=picked, own=own,
                              now=_now())
    except portfolio.PublishError as error:
        return _portfolio_page(email, error=str(error), status=422, form_values=values)
    except IntegrityError:
        return _portfolio_page(email, error="That address is taken; choose another.", status=409, form_values=values)
    return redirect(url_for("portfolio.me", saved="published") + "#publish", code=303)


@bp.post("/me/portfolio/unpublish")
def unpublish():
    _check_form()  # before the sign-in check: a forged form is refused, not redirected
    email = _signed_in()
    session = get_session()
    with transaction(session):
        portfolio.unpublish(session, email)
    return redirect(url_for("portfolio.me", saved="unpublished") + "#publish", code=303)


# ---------------------------------------------------------------- the published page


@bp.get("/p/<slug>")
def published(slug):
    found = portfolio.published(get_session(), slug)
    if found is None:
        return _error(404, "portfolio_not_found", "No such page", "There is no portfolio at this address.")
    page, credentials = found
    urls = current_app.extensions["badges"].urls
    items = [{"record": c, "view": credential_view(c), "status": credential_status(c),
              "url": urls.credential(c.id)}
             for c in credentials if is_public(c)]
    return render_template("portfolio/published.html", page=page, items=items)
