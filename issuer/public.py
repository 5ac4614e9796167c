"""Public documents, no token: credentials, issuer profiles, DID documents, achievements."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select
from werkzeug.http import parse_etags, quote_etag, unquote_etag

from issuer import badges, pages
from issuer.db import get_session, transaction
from issuer.errors import NotFound
from issuer.images import PNG, SVG
from issuer.keystore import verification_methods
from issuer.models import Achievement, Credential, Issuer, StatusList, is_id
from issuer.privacy import is_public
from issuer.statuslists import CurrentPublications
from issuer.vcjwt import MEDIA_TYPE as VC_JWT, vc_jwt
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


def _public_credential(credential_id: str) -> Credential:
    record = get_session().get(Credential, credential_id) if is_id(credential_id) else None
    # A hidden page answers exactly as a missing one, so nobody learns that it exists.
    if record is None or not is_public(record):
        raise NotFound("credential_not_found", f"there is no credential {credential_id!r}")
    return record


def wants_html(accept) -> bool:
    """Whether to answer a page rather than JSON-LD. A request with no Accept header is a
    script, not a browser, and keeps getting JSON-LD; otherwise JSON-LD only when the client
    prefers one of its types to text/html (browsers send text/html first, */* at a lower q)."""
    if not accept:
        return False
    best_json = max(accept[media_type] for media_type in JSON_LD_TYPES)
    return not (best_json > 0 and best_json > accept["text/html"])


def page_or_json_ld(render_page, document_of):
    """The HTML page for browsers, the JSON-LD otherwise; either way the answer varies with
    Accept, so caches keep the two apart."""
    if wants_html(request.accept_mimetypes):
        response = current_app.make_response(render_page())
        response.vary.add("Accept")
        return response
    return json_ld(document_of())


def wants_jwt(accept) -> bool:
    """Whether the client named application/vc+jwt, and likes nothing else better (a wildcard
    never chooses the JWT: scripts and browsers keep getting what they got before)."""
    named = max((quality for value, quality in accept if value.lower() == VC_JWT), default=0)
    return named > 0 and named >= accept["text/html"] and named >= max(accept[t] for t in JSON_LD_TYPES)


def jwt_form(record: Credential) -> str:
    """The credential's VC-JWT: as issued for a "jwt" credential; for one issued as JSON-LD, the
    same credential (its Data Integrity proof left out) signed now by the issuer's current key."""
    if record.jwt:
        return record.jwt
    keystore = services().keystore(get_session())
    return vc_jwt(record.document, keystore.signer(keystore.active_key(record.issuer)))


def baked_form(record: Credential) -> dict | str:
    """What a badge image carries: the VC-JWT of a "jwt" credential, else the signed JSON-LD."""
    return record.jwt if record.credential_format == "jwt" and record.jwt else record.document


@bp.get("/credentials/<credential_id>")
def credential(credential_id):
    record = _public_credential(credential_id)
    if wants_jwt(request.accept_mimetypes):
        response = current_app.response_class(jwt_form(record), mimetype=VC_JWT)
        response.vary.add("Accept")
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    return page_or_json_ld(lambda: pages.render_credential(record), lambda: record.document)


@bp.get("/credentials/<credential_id>/credential.json")
def credential_download(credential_id):
    """The signed credential as a file to keep."""
    record = _public_credential(credential_id)
    response = json_ld(record.document)
    response.headers["Content-Disposition"] = f'attachment; filename="credential-{record.id}.json"'
    return response


@bp.get("/credentials/<credential_id>/credential.jwt")
def credential_jwt_download(credential_id):
    """The credential's VC-JWT as a file to keep (as issued, or signed now for a JSON-LD credential)."""
    record = _public_credential(credential_id)
    response = current_app.response_class(jwt_form(record), mimetype=VC_JWT)
    response.headers["Content-Disposition"] = f'attachment; filename="credential-{record.id}.jwt"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/credentials/<credential_id>/qr.svg")
def credential_qr(credential_id):
    """A QR code of the credential's page, for printed certificates."""
    record = _public_credential(credential_id)
    return image_response(pages.qr_svg(services().urls.credential(record.id)), SVG)


@bp.get("/issuers/<slug>")
def issuer_profile(slug):
    issuer = _issuer(slug)
    return page_or_json_ld(
        lambda: pages.render_issuer(issuer),
        lambda: {"@context": list(CONTEXTS), **services().issuance(get_session()).issuer_profile(issuer)},
    )


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
    return page_or_json_ld(
        lambda: pages.render_achievement(record),
        lambda: {"@context": list(CONTEXTS), **services().issuance(get_session()).achievement_document(record)},
    )


@bp.get("/status/<list_id>")
def status_list(list_id):
    """A signed BitstringStatusListCredential. Served as stored while unchanged; signed again at
    the first fetch after a change, or before its validity runs out. Each answer is remembered, so
    that `StatusListMemory` answers the next requests for it without Flask (see there)."""
    served = services().served_status_lists
    now = services().clock()
    generation = served.generation()
    session = get_session()
    record = session.get(StatusList, list_id) if is_id(list_id) else None
    if record is None:
        raise NotFound("status_list_not_found", f"there is no status list {list_id!r}")
    with transaction(session):  # a read, unless the list must be signed again
        publication = services().status_lists(session).publication(record)
    served.served(list_id, publication.etag, now + timedelta(seconds=publication.max_age), generation)
    if request.if_none_match.contains_weak(publication.etag):
        response = current_app.response_class(status=304)
    else:
        response = json_ld(publication.document, default="application/vc+ld+json")
    return _status_list_headers(response, publication.etag, publication.max_age)


def _status_list_headers(response, etag: str, max_age: int):
    for name, value in status_list_headers(etag, max_age):
        response.headers[name] = value
    return response


def status_list_headers(etag: str, max_age: int) -> list[tuple[str, str]]:
    return [("ETag", quote_etag(etag)), ("Cache-Control", cache_control(max_age)), ("Vary", "Accept"),
            ("Access-Control-Allow-Origin", "*")]


def cache_control(max_age: int) -> str:
    return f"public, max-age={max_age}"


@dataclass(frozen=True)
class RememberedAnswer:
    """A 200 answer of GET /status/<id> exactly as the app gave it, and the validUntil of the list
    it carries."""

    etag: str
    valid_until: datetime
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers)

    def headers_with(self, max_age: int) -> list[tuple[str, str]]:
        """Its headers, with the max-age of an answer given now."""
        return [(name, cache_control(max_age) if name.lower() == "cache-control" else value)
                for name, value in self.headers]


class RememberedAnswers:
    """The last 200 answers of GET /status/<id>, by what the answer depends on (`request_key`);
    at most `max_answers` of them and `max_bytes` in all, the oldest dropped first. Thread-safe:
    readers take no lock (a dict lookup is atomic, and an answer never changes)."""

    # A list credential is 1 to 25 KB (its bits compressed): room for every list of a large
    # deployment, and the few Accept headers its verifiers send.
    def __init__(self, max_answers: int = 1024, max_bytes: int = 16 * 1024 * 1024):
        self._lock = threading.Lock()
        self._answers: dict[tuple, RememberedAnswer] = {}
        self._bytes = 0
        self._max_answers = max_answers
        self._max_bytes = max_bytes

    def get(self, key: tuple) -> RememberedAnswer | None:
        return self._answers.get(key)

    def remember(self, key: tuple, answer: RememberedAnswer) -> None:
        if answer.size > self._max_bytes:
            return
        with self._lock:
            replaced = self._answers.pop(key, None)
            if replaced is not None:
                self._bytes -= replaced.size
            while self._answers and (len(self._answers) >= self._max_answers
                                     or self._bytes + answer.size > self._max_bytes):
                self._bytes -= self._answers.pop(next(iter(self._answers))).size
            self._answers[key] = answer
            self._bytes += answer.size

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def size(self) -> int:
        """The bytes they take (bodies and headers)."""
        return self._bytes


def request_key(environ) -> tuple:
    """What the app's answer to GET /status/<id> may depend on, as an HTTP cache keys it: the URL
    (its scheme as the server or a proxy gives it, which decides HSTS) and, as the answer's
    `Vary` says, the Accept header (which of the three JSON types it is labelled)."""
    return (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("HTTP_HOST", ""),
            environ.get("wsgi.url_scheme", ""), environ.get("HTTP_X_FORWARDED_PROTO", ""),
            environ.get("HTTP_ACCEPT", ""))


class StatusListMemory:
    """WSGI middleware in front of the app, for GET and HEAD /status/<id>, the request a verifier
    elsewhere makes for every list every `ttl`. Everything else goes to the app.

    - A matching If-None-Match, while the ETag this process last served for the list is fresh, is
      answered 304 here without the database (why that never hides a change longer than the
      list's Cache-Control allows: `issuer.statuslists.ServedEtags`).
    - Otherwise the app's last 200 answer to the same request (`request_key`) is given again with
      the max-age left, once one primary-key read has confirmed that the database still stores
      that list as current (`CurrentPublications`) and the app would serve it as stored: the
      same bytes and headers the app would answer now, at a fraction of its cost. So a change
      made by any process or node is seen at once, as a plain GET always has
      (tests/issuer/test_two_nodes.py).
    - Anything else goes to the app, whose 200 answer to a GET is remembered on its way out.

    Answers from here skip the app's throttling: they cost less than the answers it throttles.
    """

    PREFIX = "/status/"

    def __init__(self, wsgi_app, services, answers: RememberedAnswers | None = None):
        self._app = wsgi_app
        self._services = services
        self._publications = CurrentPublications(services.sessionmaker.kw["bind"])
        self.answers = answers if answers is not None else RememberedAnswers()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if not path.startswith(self.PREFIX) or method not in ("GET", "HEAD"):
            return self._app(environ, start_response)
        list_id = path[len(self.PREFIX):]
        served = self._services.served_status_lists
        now = self._services.clock()
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match:
            fresh = served.fresh_etag(list_id, now)
            if fresh is not None and parse_etags(if_none_match).contains_weak(fresh[0]):
                start_response("304 NOT MODIFIED", status_list_headers(*fresh))
                return []
        key = request_key(environ)
        answer = self.answers.get(key)
        if answer is not None:
            generation = served.generation()
            max_age = self._max_age_if_current(list_id, answer, now)
            if max_age is not None:
                served.served(list_id, answer.etag, now + timedelta(seconds=max_age), generation)
                if if_none_match and parse_etags(if_none_match).contains_weak(answer.etag):
                    start_response("304 NOT MODIFIED", status_list_headers(answer.etag, max_age))
                    return []
                start_response(answer.status, answer.headers_with(max_age))
                return [] if method == "HEAD" else [answer.body]
        if method == "GET":
            return self._remembering(list_id, key, environ, start_response)
        return self._app(environ, start_response)

    def _max_age_if_current(self, list_id: str, answer: RememberedAnswer, now: datetime) -> int | None:
        """The max-age the app would give `answer` with now, or None if it would answer another
        list (changed, or signed again) or the database cannot tell (the app then answers)."""
        policy = self._services.status_list_policy
        if not policy.serves_stored(answer.valid_until, now):
            return None
        try:
            current = self._publications.etag(list_id)
        except self._publications.errors:
            return None
        return policy.max_age(answer.valid_until, now) if current == answer.etag else None

    def _remembering(self, list_id: str, key: tuple, environ, start_response):
        """The app's answer, remembered when it is a 200 that sets no cookie and carries the list
        the database stores as current (read again for its validUntil)."""
        given = []

        def start(status, headers, exc_info=None):
            given[:] = [status, list(headers)]
            return start_response(status, headers, exc_info)

        body = self._app(environ, start)
        status, headers = given or (None, [])
        etag = next((value for name, value in headers if name.lower() == "etag"), None)
        if status is None or not status.startswith("200 ") or etag is None \
                or any(name.lower() == "set-cookie" for name, _ in headers):
            return body
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        etag = unquote_etag(etag)[0]
        try:
            current = self._publications.read(list_id)
        except self._publications.errors:
            current = None
        if current is not None and current[0] == etag:
            self.answers.remember(key, RememberedAnswer(etag, current[1], status, tuple(headers), data))
        return [data]


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.wsgi_app = StatusListMemory(app.wsgi_app, app.extensions["badges"])


# --- images ------------------------------------------------------------------------------------

# An SVG opened on its own is a document: it may style itself and show embedded data: images
# (an uploaded PNG wrapped in badge.svg is one), and do nothing else: no script, no fetching.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def image_response(data: bytes, media_type: str, *, filename: str | None = None):
    """An image answer that no browser sniffs into something else; an SVG gets a CSP that
    forbids scripts and loads. A changed image has a new ETag."""
    response = current_app.response_class(data, mimetype=media_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if media_type == SVG:
        response.headers["Content-Security-Policy"] = SVG_CSP
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.cache_control.no_cache = True  # revalidate: the image or the page's visibility may change
    response.set_etag(hashlib.sha256(data).hexdigest())
    return response.make_conditional(request)


@bp.get("/achievements/<achievement_id>/image")
def achievement_image(achievement_id):
    """The image the issuer uploaded (PNG, or SVG as sanitised at upload)."""
    record = get_session().get(Achievement, achievement_id) if is_id(achievement_id) else None
    if record is None:
        raise NotFound("achievement_not_found", f"there is no achievement {achievement_id!r}")
    if record.image_data is None:
        raise NotFound("image_not_found", f"achievement {achievement_id!r} has no uploaded image")
    return image_response(record.image_data, record.image_media_type)


def _badge_art(record: Credential) -> badges.BadgeArt:
    """What the generated badge shows: the achievement and issuer names as signed."""
    document = record.document
    achievement = (document.get("credentialSubject") or {}).get("achievement") or {}
    issuer = document.get("issuer") or {}
    return badges.BadgeArt(
        name=str(achievement.get("name") or "Credential"),
        issuer_name=str(issuer.get("name") or record.issuer.name) if isinstance(issuer, dict) else record.issuer.name,
        seed=record.achievement_id or record.id,
    )


def _uploaded(record: Credential) -> tuple[bytes | None, str | None]:
    achievement = record.achievement
    return (achievement.image_data, achievement.image_media_type) if achievement is not None else (None, None)


def _badge_name(record: Credential, extension: str) -> str:
    return badges.download_name(_badge_art(record).name, record.id, extension)


def baked_badge_response(record: Credential, extension: str):
    """The credential's badge as a download, the signed credential baked in. "png": the uploaded
    PNG or the generated badge; "svg": the uploaded SVG, an uploaded PNG wrapped in SVG, or the
    generated badge. The caller decides who may see it."""
    image_data, media_type = _uploaded(record)
    art = _badge_art(record)
    if extension == "png":
        png = badges.badge_png(image_data=image_data, media_type=media_type, art=art)
        return image_response(badges.baked_png(baked_form(record), png), PNG, filename=_badge_name(record, "png"))
    svg = badges.badge_svg(image_data=image_data, media_type=media_type, art=art)
    return image_response(badges.baked_svg(baked_form(record), svg), SVG, filename=_badge_name(record, "svg"))


@bp.get("/credentials/<credential_id>/badge.png")
def badge_png(credential_id):
    return baked_badge_response(_public_credential(credential_id), "png")


@bp.get("/credentials/<credential_id>/badge.svg")
def badge_svg(credential_id):
    return baked_badge_response(_public_credential(credential_id), "svg")
