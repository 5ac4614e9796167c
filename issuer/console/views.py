"""The console's routes."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from functools import wraps
from urllib.parse import urlsplit

from flask import (Blueprint, Response, abort, current_app, g, redirect, render_template, request, session,
                   stream_template, stream_with_context, url_for)
from limits import parse
from sqlalchemy import case, func, select

from issuer import audit, webhooks
from issuer.webhooks import events
from issuer.auth import create_token, revoke_token
from issuer.db import get_session, transaction
from issuer.errors import ApiError
from issuer.lifecycle import Lifecycle
from issuer.models import (Achievement, ApiToken, AssessmentResult, AuditEntry, Credential, Issuer, SigningKey,
                           User, VerificationCount, WebhookEndpoint, is_id)
from issuer.console.charts import bar_chart
from issuer.people import accounts
from issuer.websession import protect_forms

bp = Blueprint("console", __name__, url_prefix="/admin", template_folder="templates")
protect_forms(bp)
MAX_PAGE = 100_000


@bp.before_request
def _refuse_nul():
    """No text with a NUL character reaches the database (PostgreSQL refuses it with an error)."""
    values = [*request.args.values(), *request.form.values(), request.path]
    if any("\x00" in value for value in values):
        return render_template("console/message.html", title="Not accepted",
                               message="The request holds a NUL character, which no field may hold."), 400


def _page() -> int:
    try:
        return min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
    except ValueError:
        return 1

PAGE_SIZE = 25
SESSION_HOURS = 12
STATUSES = ("active", "suspended", "revoked")
ACTIONS = {"revoke": ("revoke", "Revoke"), "suspend": ("suspend", "Suspend"), "unsuspend": ("unsuspend", "Unsuspend"),
           "reissue": ("reissue", "Reissue")}


def services():
    return current_app.extensions["badges"]


def now() -> datetime:
    return services().clock()


# --- who is signed in ----------------------------------------------------------------------------

ADMIN_KEYS = ("admin_uid", "admin_epoch", "admin_since", "admin_full", "admin_pending_totp")


def end_session() -> None:
    """Sign the console user out; what others keep in the session (the earner's portfolio) stays."""
    for key in ADMIN_KEYS:
        session.pop(key, None)


def signed_in_user() -> User | None:
    user_id, epoch, since = session.get("admin_uid"), session.get("admin_epoch"), session.get("admin_since")
    if not user_id or not session.get("admin_full") or since is None:
        return None
    if now().timestamp() - since > SESSION_HOURS * 3600:
        end_session()
        return None
    user = get_session().get(User, user_id)
    if user is None or user.session_epoch != epoch:
        end_session()
        return None
    return user


def signin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.user = signed_in_user()
        if g.user is None:
            return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
        return view(*args, **kwargs)

    return wrapper


def require(issuer_id: str, need: str) -> None:
    if not accounts.may(g.user, issuer_id, need):
        abort(403)


def scope(query, column):
    """Only the rows of issuers the user may see."""
    visible = accounts.visible_issuer_ids(g.user)
    return query if visible is None else query.where(column.in_(visible))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("console.dashboard")


# --- signing in ----------------------------------------------------------------------------------

def _throttle_keys(email: str):
    """The console's sign-in counters for `email` from this address, or None when throttling is off.
    Counted by hand: only failures count, and the answer is a page, not a problem body."""
    config = current_app.config
    if not config["THROTTLE_ENABLED"]:
        return None
    account = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return current_app.extensions["throttle"].counter, [
        (parse(config["THROTTLE_SIGNIN_PER_ACCOUNT"]), "signin-account", account),
        (parse(config["THROTTLE_SIGNIN_PER_ADDRESS"]), "signin-address", request.remote_addr or ""),
    ]


def _throttled(keys) -> bool:
    if keys is None:
        return False
    counter, limits = keys
    return any(not counter.test(limit, scope, key) for limit, scope, key in limits)


def _count_failure(keys) -> None:
    if keys is not None:
        counter, limits = keys
        for limit, scope, key in limits:
            counter.hit(limit, scope, key)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        email, password = request.form.get("email", ""), request.form.get("password", "")
        keys = _throttle_keys(email)
        if _throttled(keys):
            error, status = "Too many failed sign-ins: wait 15 minutes and try again.", 429
        else:
            db = get_session()
            with transaction(db):
                user = accounts.authenticate(db, email, password)
            if user is None:
                _count_failure(keys)
                error, status = "The email or the password is not right.", 401
            else:
                end_session()
                session.update(admin_uid=user.id, admin_epoch=user.session_epoch, admin_since=now().timestamp(),
                               admin_full=user.totp_secret is None)
                if user.totp_secret is not None:
                    return redirect(url_for("console.second_factor", next=request.args.get("next")))
                return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", error=error), status, _retry_after(status)


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor():
    user_id = session.get("admin_uid")
    user = get_session().get(User, user_id) if user_id else None
    if user is None or user.totp_secret is None:
        return redirect(url_for("console.login"))
    error, status = None, 200
    if request.method == "POST":
        keys = _throttle_keys(user.email)
        if _throttled(keys):
            error, status = "Too many failed sign-ins: wait 15 minutes and try again.", 429
        elif _use_code(user):
            session["admin_full"] = True
            return redirect(_safe_next(request.args.get("next")))
        else:
            _count_failure(keys)
            error, status = "That code is not right (or has expired): enter the current one.", 401
    return render_template("console/code.html", error=error), status, _retry_after(status)


def _use_code(user: User) -> bool:
    db = get_session()
    with transaction(db):
        return accounts.use_code(db, user, accounts.open_totp(services().key_encryption_key, user),
                                 request.form.get("code", ""), now())


def _retry_after(status: int) -> dict:
    return {"Retry-After": "900"} if status == 429 else {}


@bp.post("/logout")
def logout():
    end_session()
    return redirect(url_for("console.login"))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    sent = False
    if request.method == "POST":
        email = request.form.get("email", "")
        keys = _throttle_keys(email)
        if not _throttled(keys):
            _count_failure(keys)  # every request counts: links cannot be sent in floods
            db = get_session()
            with transaction(db):
                try:
                    user = db.scalar(select(User).where(User.email == accounts.normal_email(email)))
                except accounts.AccountError:
                    user = None
                token = accounts.start_reset(db, user, now=now()) if user is not None else None
            if token is not None:
                _send_reset(user, token)
        sent = True  # the same answer whether or not the email names a user
    return render_template("console/forgot.html", sent=sent)


def _send_reset(user: User, token: str) -> None:
    from issuer.notify import transport_from_config

    transport = current_app.extensions.get("mail_transport") or transport_from_config(current_app.config)
    link = services().urls.base_url.rstrip("/") + url_for("console.reset", token=token)
    message = EmailMessage()
    message["Subject"] = "Reset your password for the badges console"
    message["From"] = current_app.config.get("MAIL_FROM") or "badges@localhost"
    message["To"] = user.email
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"Someone asked to reset the password of {user.email}. To choose a new one, open this link "
                        f"within an hour (it works once):\n{link}\n\nIf it was not you, ignore this email.\n")
    try:
        transport.send(message)
    except Exception:  # noqa: BLE001 - the page says the same either way; the log says why
        current_app.logger.exception("could not send a password reset email")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    error, status = None, 200
    db = get_session()
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            error, status = "The two passwords differ.", 422
        else:
            try:
                with transaction(db):
                    accounts.complete_reset(db, token, password, now=now())
            except accounts.AccountError as problem:
                error, status = str(problem), (404 if problem.code == "reset_invalid" else 422)
            else:
                end_session()
                return redirect(url_for("console.login", reset="done"))
    elif accounts.reset_user(db, token, now=now()) is None:
        error, status = "This reset link is not valid: ask for a new one.", 404
    return render_template("console/reset.html", error=error), status


@bp.route("/security", methods=["GET", "POST"])
@signin_required
def security():
    """Enrol (or replace) the TOTP second factor: a new secret is shown as text and as a QR code;
    it is kept only once a code from it is entered."""
    db = get_session()
    error, status, done = None, 200, False
    if request.method == "POST":
        secret = session.get("admin_pending_totp")
        step = accounts.code_step(secret, request.form.get("code", ""), now()) if secret else None
        if step is not None:
            with transaction(db):
                user = db.get(User, g.user.id)
                accounts.seal_totp(services().key_encryption_key, user, secret)
                user.totp_last_step = step  # the code that enrolled is spent too
            session.pop("admin_pending_totp", None)
            done = True
        else:
            error, status = "That code is not right: enter the current code from your app.", 422
    if not done:
        session.setdefault("admin_pending_totp", accounts.new_totp_secret())
    secret = session.get("admin_pending_totp")
    uri = accounts.provisioning_uri(secret, g.user.email) if secret and not done else None
    return render_template("console/security.html", secret=secret, uri=uri, qr=_qr(uri) if uri else None,
                           done=done, error=error, enrolled=g.user.totp_secret is not None), status


def _qr(uri: str):
    import segno
    from markupsafe import Markup

    out = io.BytesIO()
    segno.make(uri, micro=False).save(out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True,
                                      title="QR code of the sign-in app link")
    return Markup(out.getvalue().decode("utf-8"))


# --- the dashboard -------------------------------------------------------------------------------

@bp.get("/")
@signin_required
def dashboard():
    db = get_session()
    moment = now()
    charts = []

    weeks = 12
    start = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0) \
        - timedelta(weeks=weeks - 1)
    issued = db.scalars(scope(select(Credential.issued_at).where(Credential.issued_at >= start),
                              Credential.issuer_id)).all()
    per_week = [0] * weeks
    for at in issued:
        per_week[min(weeks - 1, (at - start).days // 7)] += 1
    rows = [(f"Week of {(start + timedelta(weeks=i)).date().isoformat()}", n) for i, n in enumerate(per_week)]
    charts.append(("issued", "Credentials issued per week", f"Credentials issued in each of the last {weeks} weeks",
                   rows, ("Week", "Issued"), ""))

    passed = func.sum(case((AssessmentResult.passed.is_(True), 1), else_=0))
    rates = db.execute(scope(select(Achievement.name, func.count(AssessmentResult.id), passed)
                             .join(AssessmentResult, AssessmentResult.achievement_id == Achievement.id)
                             .group_by(Achievement.id, Achievement.name).order_by(Achievement.name),
                             Achievement.issuer_id)).all()
    rows = [(name, round(100 * (ok or 0) / total, 1)) for name, total, ok in rates if total]
    charts.append(("passrate", "Pass rate per achievement", "Share of recorded results that passed, per achievement",
                   rows, ("Achievement", "Passed (%)"), "%"))

    statuses = dict(db.execute(scope(select(Credential.status, func.count()).group_by(Credential.status),
                                     Credential.issuer_id)).all())
    rows = [(status, statuses.get(status, 0)) for status in STATUSES]
    charts.append(("status", "Status of credentials", "How many credentials are active, suspended and revoked",
                   rows, ("Status", "Credentials"), ""))

    rows = []
    for days in (30, 90):
        count = db.scalar(scope(select(func.count()).select_from(Credential).where(
            Credential.status == "active", Credential.valid_until > moment,
            Credential.valid_until <= moment + timedelta(days=days)), Credential.issuer_id))
        rows.append((f"Next {days} days", count))
    charts.append(("expiring", "Credentials expiring soon", "Active credentials whose validity ends in the next 30 "
                   "and 90 days", rows, ("Within", "Credentials"), ""))

    days = [(moment - timedelta(days=i)).date().isoformat() for i in range(13, -1, -1)]
    # This process's latest counts at once; other processes' within their flush interval.
    current_app.extensions["verification_counts"].flush()
    counted = dict(db.execute(scope(select(VerificationCount.day, func.sum(VerificationCount.count))
                                    .where(VerificationCount.day >= days[0]).group_by(VerificationCount.day),
                                    VerificationCount.issuer_id)).all())
    rows = [(day, int(counted.get(day) or 0)) for day in days]
    charts.append(("verifications", "Verifications per day", "How many times our verifier checked one of our "
                   "credentials on each of the last 14 days", rows, ("Day", "Verifications"), ""))

    shown = [dict(id=cid, title=title, svg=bar_chart(f"chart-{cid}", title, desc, rows, unit=unit), rows=rows,
                  headings=headings) for cid, title, desc, rows, headings, unit in charts]
    return render_template("console/dashboard.html", charts=shown)


# --- credentials ---------------------------------------------------------------------------------

def _day(text: str | None, *, end: bool = False) -> datetime | None:
    try:
        day = datetime.strptime((text or "").strip(), "%Y-%m-%d").replace(tzinfo=timezone.utc)
        return day + timedelta(days=1) if end else day
    except (ValueError, OverflowError):
        return None


@bp.get("/credentials")
@signin_required
def credentials():
    db = get_session()
    args = request.args
    query = scope(select(Credential), Credential.issuer_id)
    email = args.get("email", "").strip().lower()
    if email:
        query = query.where(Credential.earner == f"mailto:{email}")
    achievement_id = args.get("achievement", "")
    if achievement_id and is_id(achievement_id):
        query = query.where(Credential.achievement_id == achievement_id)
    status = args.get("status", "")
    if status in STATUSES:
        query = query.where(Credential.status == status)
    if (since := _day(args.get("from"))) is not None:
        query = query.where(Credential.issued_at >= since)
    if (until := _day(args.get("to"), end=True)) is not None:
        query = query.where(Credential.issued_at < until)
    page = _page()
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.scalars(query.order_by(Credential.issued_at.desc(), Credential.id)
                      .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    achievements = db.scalars(scope(select(Achievement).order_by(Achievement.name), Achievement.issuer_id)).all()
    pages = max(1, -(-total // PAGE_SIZE))
    base = {k: v for k, v in args.items() if k != "page" and v}
    return render_template("console/credentials.html", rows=rows, total=total, page=page, pages=pages,
                           achievements=achievements, args=args, statuses=STATUSES,
                           prev_url=url_for("console.credentials", **base, page=page - 1) if page > 1 else None,
                           next_url=url_for("console.credentials", **base, page=page + 1) if page < pages else None)


def _credential(credential_id: str, need: str) -> Credential:
    credential = get_session().get(Credential, credential_id) if is_id(credential_id) else None
    if credential is None:
        abort(404)
    require(credential.issuer_id, need)
    return credential


@bp.get("/credentials/<credential_id>")
@signin_required
def credential(credential_id):
    record = _credential(credential_id, "viewer")
    return render_template("console/credential.html", c=record, actions=ACTIONS,
                           may_change=accounts.may(g.user, record.issuer_id, "editor"))


@bp.post("/credentials/<credential_id>/<action>")
@signin_required
def change_credential(credential_id, action):
    """A status change: the first post shows what will happen (the confirmation step); the second,
    with confirm=yes, does it."""
    if action not in ACTIONS:
        abort(404)
    record = _credential(credential_id, "editor")
    reason = request.form.get("reason", "").strip()
    if not reason:
        return render_template("console/credential.html", c=record, actions=ACTIONS, may_change=True,
                               error="Give a reason: it goes into the audit log."), 422
    if request.form.get("confirm") != "yes":
        return render_template("console/confirm.html", items=[record], action=action, label=ACTIONS[action][1],
                               reason=reason, target=url_for("console.change_credential", credential_id=record.id,
                                                             action=action))
    db = get_session()
    lifecycle = Lifecycle(db, services(), user=g.user.email)
    try:
        with transaction(db):
            if action == "reissue":
                lifecycle.reissue(record, reason=reason, token=None)
            else:
                getattr(lifecycle, ACTIONS[action][0])(record, reason=reason, token=None)
    except ApiError as problem:
        db.refresh(record)
        return render_template("console/credential.html", c=record, actions=ACTIONS, may_change=True,
                               error=problem.detail), 409
    return redirect(url_for("console.credential", credential_id=record.id, done=action), 303)


@bp.post("/credentials/revoke")
@signin_required
def bulk_revoke():
    db = get_session()
    ids = [i for i in request.form.getlist("credential_id") if is_id(i)]
    items = [_credential(i, "editor") for i in dict.fromkeys(ids)]
    reason = request.form.get("reason", "").strip()
    if not items or not reason:
        return render_template("console/message.html", title="Nothing revoked",
                               message="Select at least one credential and give a reason."), 422
    if request.form.get("confirm") != "yes":
        return render_template("console/confirm.html", items=items, action="revoke", label="Revoke", reason=reason,
                               target=url_for("console.bulk_revoke"))
    try:
        with transaction(db):
            revoked = Lifecycle(db, services(), user=g.user.email).revoke_many([c.id for c in items], reason=reason,
                                                                               token=None)
    except ApiError as problem:
        return render_template("console/message.html", title="Nothing revoked", message=problem.detail), 409
    return render_template("console/message.html", title="Revoked",
                           message=f"{len(revoked)} credential(s) revoked.")


# --- issuers -------------------------------------------------------------------------------------

@bp.get("/issuers")
@signin_required
def issuers():
    rows = get_session().scalars(scope(select(Issuer).order_by(Issuer.name), Issuer.id)).all()
    return render_template("console/issuers.html", issuers=rows)


@bp.get("/issuers/<slug>")
@signin_required
def issuer(slug):
    db = get_session()
    record = db.scalar(select(Issuer).where(Issuer.slug == slug))
    if record is None:
        abort(404)
    require(record.id, "viewer")
    return _issuer_page(record)


# --- tokens --------------------------------------------------------------------------------------

@bp.route("/tokens", methods=["GET", "POST"])
@signin_required
def tokens():
    db = get_session()
    created, error, status = None, None, 200
    if request.method == "POST":
        slug = request.form.get("issuer", "")
        target = db.scalar(select(Issuer).where(Issuer.slug == slug)) if slug else None
        if slug and target is None:
            error, status = f"There is no issuer {slug!r}.", 422
        elif target is None and not g.user.is_admin:
            error, status = "Only an instance admin may make an instance token.", 403
        elif target is not None and not accounts.may(g.user, target.id, "owner"):
            error, status = "Only an owner of the issuer may make its tokens.", 403
        else:
            with transaction(db):
                token, created = create_token(db, issuer=target, label=request.form.get("label", "").strip()[:255]
                                              or None, now=now())
                db.flush()
                audit.record(db, action="token.create", token=None, user=g.user.email, issuer_id=token.issuer_id,
                             subject_type="api_token", subject_id=token.id, at=token.created_at,
                             details={"label": token.label})
    query = select(ApiToken).order_by(ApiToken.created_at.desc())
    visible = accounts.visible_issuer_ids(g.user)
    if visible is not None:
        owned = [i for i in visible if accounts.may(g.user, i, "owner")]
        query = query.where(ApiToken.issuer_id.in_(owned))
    issuers_owned = [i for i in db.scalars(select(Issuer).order_by(Issuer.name)) if accounts.may(g.user, i.id, "owner")]
    return render_template("console/tokens.html", tokens=db.scalars(query).all(), created=created, error=error,
                           issuers=issuers_owned), status


@bp.post("/tokens/<token_id>/revoke")
@signin_required
def revoke_token_page(token_id):
    db = get_session()
    token = db.get(ApiToken, token_id) if is_id(token_id) else None
    if token is None:
        abort(404)
    if token.issuer_id is None and not g.user.is_admin or token.issuer_id and not accounts.may(g.user, token.issuer_id,
                                                                                                "owner"):
        abort(403)
    try:
        with transaction(db):
            revoke_token(db, token, reason=request.form.get("reason", "").strip() or None, by=None, now=now(),
                             user=g.user.email)
    except ApiError as problem:
        return render_template("console/message.html", title="Not revoked", message=problem.detail), 409
    return redirect(url_for("console.tokens"), 303)


# --- the audit log -------------------------------------------------------------------------------

def _audit_query():
    args = request.args
    query = scope(select(AuditEntry), AuditEntry.issuer_id)
    if args.get("action") in audit.ACTIONS:
        query = query.where(AuditEntry.action == args["action"])
    if subject := args.get("subject", "").strip():
        query = query.where(AuditEntry.subject_id == subject[:64])
    if (since := _day(args.get("from"))) is not None:
        query = query.where(AuditEntry.at >= since)
    if (until := _day(args.get("to"), end=True)) is not None:
        query = query.where(AuditEntry.at < until)
    return query.order_by(AuditEntry.id.desc())


@bp.get("/audit")
@signin_required
def audit_log():
    page = _page()
    rows = get_session().scalars(_audit_query().offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    base = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("console/audit.html", rows=rows[:PAGE_SIZE], actions=audit.ACTIONS, args=request.args,
                           csv_url=url_for("console.audit_csv", **base),
                           next_url=url_for("console.audit_log", **base, page=page + 1) if len(rows) > PAGE_SIZE
                           else None,
                           prev_url=url_for("console.audit_log", **base, page=page - 1) if page > 1 else None)


@bp.get("/audit.csv")
@signin_required
def audit_csv():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "action", "actor", "user", "issuer_id", "subject_type", "subject_id", "reason"])
    for entry in get_session().scalars(_audit_query().limit(100_000)):
        writer.writerow([entry.id, entry.at.isoformat(), entry.action, entry.actor, (entry.details or {}).get("user", ""),
                         entry.issuer_id or "", entry.subject_type, entry.subject_id,
                         _cell(entry.reason or "")])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


def _cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- achievements --------------------------------------------------------------------------------

def _achievement(achievement_id: str, need: str) -> Achievement:
    record = get_session().get(Achievement, achievement_id) if is_id(achievement_id) else None
    if record is None:
        abort(404)
    require(record.issuer_id, need)
    return record


@bp.get("/achievements")
@signin_required
def achievements():
    db = get_session()
    rows = db.scalars(scope(select(Achievement).order_by(Achievement.name), Achievement.issuer_id)).all()
    issuers_editable = [i for i in db.scalars(select(Issuer).order_by(Issuer.name))
                        if accounts.may(g.user, i.id, "editor")]
    return render_template("console/achievements.html", achievements=rows, issuers=issuers_editable)


def _achievement_body(form) -> dict:
    """The API's request body from the form's fields (blank fields left out)."""
    body = {"name": form.get("name", ""), "description": form.get("description", ""),
            "criteria": {"narrative": form.get("criteria", "")},
            "passing_score": form.get("passing_score", ""), "max_score": form.get("max_score", "")}
    for name in ("achievement_type", "valid_for"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    if tags:
        body["tags"] = tags
    alignments = []
    for n in range(1, 4):
        fields = {key: form.get(f"alignment{n}_{key}", "").strip()
                  for key in ("target_name", "target_url", "target_framework", "target_code")}
        if any(fields.values()):
            alignments.append({k: v for k, v in fields.items() if v})
    if alignments:
        body["alignments"] = alignments
    return body


def _scores(body: dict) -> dict:
    for name in ("passing_score", "max_score"):
        text = str(body.get(name, "")).strip()
        try:
            body[name] = int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            pass  # left as text: the schema says what is wrong
    return body


@bp.route("/issuers/<slug>/achievements/new", methods=["GET", "POST"])
@signin_required
def new_achievement(slug):
    from marshmallow import ValidationError

    from issuer.api import new_achievement as build
    from schemas.achievement import AchievementCreateSchema

    db = get_session()
    owner = db.scalar(select(Issuer).where(Issuer.slug == slug))
    if owner is None:
        abort(404)
    require(owner.id, "editor")
    errors, status = None, 200
    if request.method == "POST":
        try:
            data = AchievementCreateSchema().load(_scores(_achievement_body(request.form)))
        except ValidationError as error:
            errors, status = _flatten(error.messages), 422
        else:
            record = build(owner, data, now=now())
            with transaction(db):
                db.add(record)
            return redirect(url_for("console.achievement", achievement_id=record.id, done="created"), 303)
    return render_template("console/achievement_form.html", issuer=owner, errors=errors, form=request.form), status


def _flatten(messages, prefix: str = "") -> list[str]:
    out = []
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, name + "."))
        else:
            out.extend(f"{name}: {text}" for text in value)
    return out


@bp.get("/achievements/<achievement_id>")
@signin_required
def achievement(achievement_id):
    record = _achievement(achievement_id, "viewer")
    return render_template("console/achievement.html", a=record,
                           may_change=accounts.may(g.user, record.issuer_id, "editor"))


@bp.post("/achievements/<achievement_id>/image")
@signin_required
def achievement_image(achievement_id):
    from issuer.api import set_image
    from issuer.images import ImageError, check_image

    record = _achievement(achievement_id, "editor")
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        error = "Choose a PNG or SVG file."
    else:
        try:
            image = check_image(upload.read(), upload.mimetype or "")
        except ImageError as problem:
            error = problem.message
        else:
            db = get_session()
            with transaction(db):
                set_image(db, record, image, token=None, now=now(), user=g.user.email)
            return redirect(url_for("console.achievement", achievement_id=record.id, done="image"), 303)
    return render_template("console/achievement.html", a=record, may_change=True, error=error), 422


@bp.route("/achievements/<achievement_id>/import", methods=["GET", "POST"])
@signin_required
def import_results(achievement_id):
    """Results from a CSV file (the columns of `badges results import`): first a preview of what
    was read, then (confirm=yes) each row recorded through the batch path, answered row by row."""
    from issuer.batch.rows import CsvInvalid, read_results
    from issuer.batch.services import CHUNK_SIZE, BatchIssuance
    from schemas.batch import MAX_BATCH_ITEMS

    record = _achievement(achievement_id, "editor")
    if request.method == "GET":
        return render_template("console/import.html", a=record, stage="upload")
    upload = request.files.get("file")
    text = upload.read().decode("utf-8", "replace") if upload is not None and upload.filename else \
        request.form.get("csv", "")
    try:
        if "\x00" in text:
            raise CsvInvalid("the file holds a NUL character: it is not a CSV text file")
        parsed = read_results(text, max_rows=MAX_BATCH_ITEMS)
        if not parsed.items:
            raise CsvInvalid("the file has a header but no rows")
    except CsvInvalid as error:
        return render_template("console/import.html", a=record, stage="upload", error=str(error)), 422
    if request.form.get("confirm") != "yes":
        return render_template("console/import.html", a=record, stage="preview", csv=text,
                               items=list(zip(parsed.rows, parsed.items)))
    items, rows = parsed.items, parsed.rows
    app_services, user, achievement_id = services(), g.user.email, record.id

    def chunks():
        # The page is sent as each chunk is committed: its progress shows without JavaScript. The
        # request's session is closed once the view returns, so this has its own.
        with app_services.sessionmaker() as db:
            batch = BatchIssuance(db, app_services, token=None, user=user)
            achievement = db.get(Achievement, achievement_id)
            for start in range(0, len(items), CHUNK_SIZE):
                yield start, batch.record(achievement, items[start:start + CHUNK_SIZE],
                                          rows=rows[start:start + CHUNK_SIZE])

    return Response(stream_with_context(stream_template("console/import_done.html", achievement_id=record.id, name=record.name,
                                                        total=len(items), chunks=chunks())))


# --- an issuer's settings and key (owners) -------------------------------------------------------

def _owned_issuer(slug: str) -> Issuer:
    record = get_session().scalar(select(Issuer).where(Issuer.slug == slug))
    if record is None:
        abort(404)
    require(record.id, "owner")
    return record


@bp.post("/issuers/<slug>/settings")
@signin_required
def issuer_settings(slug):
    from marshmallow import ValidationError

    from issuer.api import change_issuer
    from schemas.issuer import IssuerUpdateSchema

    record = _owned_issuer(slug)
    suspension = {"default": None, "on": True, "off": False}.get(request.form.get("suspension", ""), "invalid")
    body = {"credentials_public": request.form.get("credentials_public") == "yes", "suspension": suspension}
    try:
        data = IssuerUpdateSchema().load(body)
    except ValidationError as error:
        return _issuer_page(record, error="; ".join(_flatten(error.messages))), 422
    db = get_session()
    with transaction(db):
        change_issuer(db, record, data, token=None, now=now(), user=g.user.email)
    return redirect(url_for("console.issuer", slug=slug, done="settings"), 303)


@bp.post("/issuers/<slug>/keys/rotate")
@signin_required
def rotate_key(slug):
    from issuer.api import rotate_issuer_key

    record = _owned_issuer(slug)
    if request.form.get("confirm") != "yes":
        return render_template("console/rotate.html", i=record)
    try:
        rotate_issuer_key(get_session(), record, token=None, now=now(), user=g.user.email)
    except ApiError as problem:
        return _issuer_page(record, error=problem.detail), 409
    return redirect(url_for("console.issuer", slug=slug, done="key rotated"), 303)


def _issuer_page(record: Issuer, *, error: str | None = None):
    db = get_session()
    keys = db.scalars(select(SigningKey).where(SigningKey.issuer_id == record.id).order_by(SigningKey.sequence)).all()
    return render_template("console/issuer.html", i=record, keys=keys, error=error,
                           may_own=accounts.may(g.user, record.id, "owner"),
                           did_url=services().urls.did_document(record.slug) if record.did_method == "web" else None)


@bp.route("/achievements/<achievement_id>/edit", methods=["GET", "POST"])
@signin_required
def edit_achievement(achievement_id):
    from marshmallow import ValidationError

    from issuer.api import edit_achievement as edit
    from schemas.achievement import AchievementCreateSchema

    record = _achievement(achievement_id, "editor")
    errors, status = None, 200
    if request.method == "POST":
        form = request.form
        try:
            data = AchievementCreateSchema().load(_scores(_achievement_body(form)))
        except ValidationError as error:
            errors, status = _flatten(error.messages), 422
        else:
            db = get_session()
            with transaction(db):
                changed = edit(db, record, data, now=now(), user=g.user.email)
            return redirect(url_for("console.achievement", achievement_id=record.id,
                                    done="saved" if changed else "nothing changed"), 303)
    else:
        form = _achievement_form(record)
    return render_template("console/achievement_form.html", issuer=record.issuer, achievement=record, errors=errors,
                           form=form), status


def _achievement_form(record: Achievement) -> dict:
    """The form's fields of a stored achievement."""
    form = {"name": record.name, "description": record.description, "criteria": record.criteria_narrative,
            "achievement_type": record.achievement_type or "", "passing_score": f"{record.passing_score.normalize():f}",
            "max_score": f"{record.max_score.normalize():f}", "valid_for": record.valid_for or "",
            "tags": ", ".join(record.tags or [])}
    for n, alignment in enumerate((record.alignments or [])[:3], start=1):
        for key in ("target_name", "target_url", "target_framework", "target_code"):
            form[f"alignment{n}_{key}"] = alignment.get(key) or ""
    return form


# --- an issuer's webhook endpoints (owners manage; editors and viewers see them) -----------------

DELIVERY_PAGE = 50


def _webhook_settings() -> webhooks.WebhookSettings:
    return webhooks.settings_from_config(current_app.config)


def _hooks_issuer(slug: str, need: str) -> Issuer:
    record = get_session().scalar(select(Issuer).where(Issuer.slug == slug))
    if record is None:
        abort(404)
    require(record.id, need)
    return record


def _hook(record: Issuer, endpoint_id: str) -> WebhookEndpoint:
    endpoint = get_session().scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.issuer_id == record.id,
        WebhookEndpoint.deleted_at.is_(None))) if is_id(endpoint_id) else None
    if endpoint is None:
        abort(404)
    return endpoint


def _hooks_page(record: Issuer, *, errors=None, form=None, secret=None, created=None, status=200):
    rows = get_session().scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.issuer_id == record.id, WebhookEndpoint.deleted_at.is_(None))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)).all()
    return render_template("console/webhooks.html", i=record, endpoints=rows, all_events=events.ISSUER_EVENTS,
                           may_own=accounts.may(g.user, record.id, "owner"), errors=errors or {},
                           form=form, secret=secret, created=created), status


@bp.route("/issuers/<slug>/webhooks", methods=["GET", "POST"])
@signin_required
def webhooks_page(slug):
    """The issuer's endpoints; an owner's post makes one (its secret shown on the answer, once)."""
    from marshmallow import ValidationError

    from schemas.hooks import WebhookCreateSchema

    if request.method == "GET":
        return _hooks_page(_hooks_issuer(slug, "viewer"))
    record = _hooks_issuer(slug, "owner")
    chosen = request.form.getlist("events")
    body = {"url": request.form.get("url", "").strip(), "events": chosen or None}
    try:
        data = WebhookCreateSchema().load(body)
        data["events"] = webhooks.check_new_endpoint(_webhook_settings(), url=data["url"], events=data["events"],
                                                     allowed=events.ISSUER_EVENTS)
    except ValidationError as error:
        errors = {k: ("; ".join(_flatten({k: v})) if isinstance(v, dict) else " ".join(v))
                  for k, v in error.messages.items()}
        return _hooks_page(record, errors=errors, form=request.form, status=422)
    except webhooks.EndpointInvalid as error:
        return _hooks_page(record, errors={error.field: error.message}, form=request.form, status=422)
    db = get_session()
    with transaction(db):
        endpoint, secret = webhooks.create_endpoint(db, services(), url=data["url"], events=data["events"],
                                                    issuer_id=record.id, party_id=None, token=None, now=now(),
                                                    user=g.user.email)
    return _hooks_page(record, secret=secret, created=endpoint)


@bp.post("/issuers/<slug>/webhooks/<endpoint_id>/rotate")
@signin_required
def rotate_webhook(slug, endpoint_id):
    record = _hooks_issuer(slug, "owner")
    endpoint = _hook(record, endpoint_id)
    if request.form.get("confirm") != "yes":
        return render_template("console/webhook_confirm.html", i=record, e=endpoint, action="rotate")
    db = get_session()
    with transaction(db):
        secret = webhooks.rotate_secret(db, services(), endpoint, token=None, now=now(), user=g.user.email)
    return _hooks_page(record, secret=secret, created=endpoint)


@bp.post("/issuers/<slug>/webhooks/<endpoint_id>/delete")
@signin_required
def delete_webhook(slug, endpoint_id):
    record = _hooks_issuer(slug, "owner")
    endpoint = _hook(record, endpoint_id)
    if request.form.get("confirm") != "yes":
        return render_template("console/webhook_confirm.html", i=record, e=endpoint, action="delete")
    db = get_session()
    with transaction(db):
        webhooks.delete_endpoint(db, endpoint, token=None, now=now(), user=g.user.email)
    return redirect(url_for("console.webhooks_page", slug=record.slug, done="deleted"), 303)


@bp.get("/issuers/<slug>/webhooks/<endpoint_id>")
@signin_required
def webhook_deliveries(slug, endpoint_id):
    """An endpoint's delivery attempts, newest first, paged."""
    record = _hooks_issuer(slug, "viewer")
    endpoint = _hook(record, endpoint_id)
    page = _page()
    rows = webhooks.attempts(get_session(), endpoint, limit=DELIVERY_PAGE + 1, offset=(page - 1) * DELIVERY_PAGE)
    target = {"slug": record.slug, "endpoint_id": endpoint.id}
    return render_template("console/webhook.html", i=record, e=endpoint, rows=rows[:DELIVERY_PAGE],
                           may_own=accounts.may(g.user, record.id, "owner"),
                           next_url=url_for("console.webhook_deliveries", **target, page=page + 1)
                           if len(rows) > DELIVERY_PAGE else None,
                           prev_url=url_for("console.webhook_deliveries", **target, page=page - 1)
                           if page > 1 else None)


@bp.post("/issuers/<slug>/webhooks/<endpoint_id>/messages/<message_id>/redeliver")
@signin_required
def redeliver_webhook(slug, endpoint_id, message_id):
    record = _hooks_issuer(slug, "owner")
    endpoint = _hook(record, endpoint_id)
    db = get_session()
    message = webhooks.message_of(db, endpoint, message_id[:64])
    if message is None:
        abort(404)
    with transaction(db):
        webhooks.redeliver(db, message, endpoint, token=None, now=now(), user=g.user.email)
    return redirect(url_for("console.webhook_deliveries", slug=record.slug, endpoint_id=endpoint.id,
                            done="redelivery queued"), 303)
