"""The public pages for people: a credential's page with its live status, and the issuer and
achievement pages. The routes are in issuer/public.py (the same URLs answer JSON-LD to
machines); this module builds what the templates show.

What a credential page says comes from the signed credential, the very document a verifier
checks; only the earner's chosen name (issuer.privacy) and the links between records come from
the database. Every URL taken from a document is shown as a link only when it is http(s).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

import segno
from flask import Flask, current_app, render_template
from sqlalchemy import select

from issuer.db import get_session
from issuer.models import Achievement, Credential, Issuer
from issuer.privacy import display_name, is_public

STATUS_CACHE_TTL = timedelta(seconds=60)
LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"
# Medium error correction: a printed code still reads with a smudge, and stays small.
QR_ERROR_CORRECTION = "m"


def init_app(app: Flask) -> None:
    app.extensions["credential_status_cache"] = StatusCache(app.extensions["badges"].clock)
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["web_url"] = web_url
    app.jinja_env.filters["period"] = period


# ---------------------------------------------------------------- live status


@dataclass(frozen=True)
class LiveStatus:
    state: str  # "verified" | "expired" | "suspended" | "revoked" | "unverified"
    label: str
    explanation: str
    checked_at: datetime

    @property
    def verified(self) -> bool:
        return self.state == "verified"


_LABELS = {
    "verified": ("Verified", "The signature is valid, and the issuer has not revoked or suspended it."),
    "expired": ("Expired", "This credential was valid until its expiry date, which has passed."),
    "suspended": ("Suspended", "The issuer has suspended this credential for now."),
    "revoked": ("Revoked", "The issuer has revoked this credential."),
    "unverified": ("Could not be verified", "Our verifier could not confirm this credential at the moment."),
}


def live_status(report) -> LiveStatus:
    """Sum a verifier Report up in one word. Revocation outranks suspension, which outranks
    expiry; any other failed check (signature, format, an unreadable status list) means we
    cannot vouch for the credential at all."""
    if report.verified:
        state = "verified"
    else:
        failed = {(c.check, c.code) for c in report.checks if c.status == "failed"}
        if any(check not in ("status", "validity") for check, _ in failed):
            state = "unverified"
        elif ("status", "revoked") in failed:
            state = "revoked"
        elif ("status", "suspended") in failed:
            state = "suspended"
        elif failed == {("validity", "expired")}:
            state = "expired"
        else:
            state = "unverified"
    label, explanation = _LABELS[state]
    return LiveStatus(state, label, explanation, report.checked_at)


class StatusCache:
    """Live statuses computed in the last minute, so a popular page does not run the verifier on
    every view. The key holds the credential's stored status and when it changed, so a
    revocation or suspension shows at once; an entry never outlives the credential's validUntil."""

    def __init__(self, clock: Callable[[], datetime], *, ttl: timedelta = STATUS_CACHE_TTL, max_entries: int = 1024):
        self._clock = clock
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[datetime, LiveStatus]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], LiveStatus], *, until: datetime | None = None) -> LiveStatus:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now < entry[0]:
                return entry[1]
        value = compute()  # outside the lock: verifying may read status lists
        expires = now + self._ttl
        if until is not None and now < until:  # what is valid now may have expired in a minute
            expires = min(expires, until)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries = {k: e for k, e in self._entries.items() if now < e[0]}
                if len(self._entries) >= self._max_entries:
                    self._entries.pop(next(iter(self._entries)))  # the oldest
            self._entries[key] = (expires, value)
        return value


def credential_status(record: Credential) -> LiveStatus:
    """The credential's status as our verifier finds it now (cached briefly)."""
    cache: StatusCache = current_app.extensions["credential_status_cache"]
    verifier = current_app.extensions["verifier"]()
    status = cache.get(
        (record.id, record.status, record.status_changed_at),
        lambda: live_status(verifier.verify_credential(record.document)),
        until=record.valid_until,
    )
    # Our records never look better than what the verifier found: the verifier allows clock skew
    # past validUntil, and a stored status is ours to state even where no list publishes it.
    now = current_app.extensions["badges"].clock()
    if status.verified and record.status in ("revoked", "suspended"):
        return LiveStatus(record.status, *_LABELS[record.status], status.checked_at)
    if status.verified and record.valid_until is not None and now >= record.valid_until:
        return LiveStatus("expired", *_LABELS["expired"], now)
    return status


# ---------------------------------------------------------------- what the pages show


def web_url(value) -> str | None:
    """The URL if it is http(s), else None: a document's `javascript:` URL is never a link."""
    if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
        return value
    return None


def day(moment: datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else ""


_PERIOD = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")


def period(duration: str | None) -> str:
    """"P1Y" -> "1 year", "P18M" -> "18 months"; a duration with hours or mixed forms as given."""
    match = _PERIOD.fullmatch(duration or "")
    if not match or not any(match.groups()):
        return duration or ""
    parts = [(int(n), unit) for n, unit in zip(match.groups(), ("year", "month", "week", "day")) if n]
    return ", ".join(f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts)


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_dict(value) -> dict:
    return next((item for item in _as_list(value) if isinstance(item, dict)), {})


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class Score:
    value: str
    required: str | None
    maximum: str | None


def _score(subject: dict, achievement: dict) -> Score | None:
    result = _first_dict(subject.get("result"))
    value = result.get("value")
    if not isinstance(value, str):
        return None
    descriptions = {d.get("id"): d for d in _as_list(achievement.get("resultDescription")) if isinstance(d, dict)}
    description = descriptions.get(result.get("resultDescription"), {})
    return Score(value, _text(description.get("requiredValue")), _text(description.get("valueMax")))


@dataclass(frozen=True)
class Link:
    text: str
    url: str | None


def credential_view(record: Credential) -> dict:
    """What the credential page shows, read from the signed document (tolerant of any shape:
    a VC API credential need not be an Open Badge)."""
    document = record.document
    subject = _first_dict(document.get("credentialSubject"))
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    issuer = document.get("issuer") if isinstance(document.get("issuer"), dict) else {}
    alignments = [
        Link(_text(a.get("targetName")) or a.get("targetUrl", ""), web_url(a.get("targetUrl")))
        for a in _as_list(achievement.get("alignment")) if isinstance(a, dict)
    ]
    evidence = [
        Link(_text(e.get("name")) or _text(e.get("narrative")) or e.get("id") or "Evidence", web_url(e.get("id")))
        for e in _as_list(document.get("evidence")) if isinstance(e, dict)
    ]
    name = _text(document.get("name")) or _text(achievement.get("name")) or "Credential"
    return {
        "name": name,
        "achievement_name": _text(achievement.get("name")) or name,
        "description": _text(achievement.get("description")) or _text(document.get("description")),
        "criteria": _text(_first_dict(achievement.get("criteria")).get("narrative")),
        "alignments": [a for a in alignments if a.text],
        "issuer_name": _text(issuer.get("name")) or record.issuer.name,
        "earner_name": display_name(record),
        "score": _score(subject, achievement),
        "evidence": evidence,
    }


def linkedin_url(record: Credential, *, name: str, page_url: str) -> str:
    """LinkedIn's "Add to profile" form, filled in for this credential."""
    issuer = record.issuer
    params = {"startTask": "CERTIFICATION_NAME", "name": name}
    if issuer.linkedin_organization_id:
        params["organizationId"] = issuer.linkedin_organization_id
    else:
        params["organizationName"] = issuer.name
    issued = record.valid_from or record.issued_at
    params["issueYear"] = str(issued.year)
    params["issueMonth"] = str(issued.month)
    if record.valid_until is not None:
        params["expirationYear"] = str(record.valid_until.year)
        params["expirationMonth"] = str(record.valid_until.month)
    params["certUrl"] = page_url
    params["certId"] = record.id
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(params, quote_via=quote)}"


def _successor(record: Credential) -> Credential | None:
    """The newer credential that replaced this one (a reissue, else a renewal), if its page is public."""
    successor_id = record.superseded_by_id or record.renewed_by_id
    successor = get_session().get(Credential, successor_id) if successor_id else None
    return successor if successor is not None and is_public(successor) else None


def render_credential(record: Credential):
    urls = current_app.extensions["badges"].urls
    page_url = urls.credential(record.id)
    view = credential_view(record)
    status = credential_status(record)
    successor = _successor(record) if not status.verified else None
    return render_template(
        "credential.html",
        record=record,
        credential=view,
        status=status,
        successor=successor,
        page_url=page_url,
        base_url=urls.base_url,
        linkedin=linkedin_url(record, name=view["name"], page_url=page_url) if status.verified else None,
    )


def qr_svg(url: str) -> bytes:
    """A QR code of `url` as a standalone SVG (black on white, with a quiet zone for printing)."""
    out = io.BytesIO()
    segno.make(url, error=QR_ERROR_CORRECTION, micro=False).save(
        out, kind="svg", scale=4, border=4, dark="#000", light="#fff", title=url,
    )
    return out.getvalue()


def render_issuer(issuer: Issuer):
    achievements = get_session().scalars(
        select(Achievement).where(Achievement.issuer_id == issuer.id).order_by(Achievement.name, Achievement.id)
    ).all()
    urls = current_app.extensions["badges"].urls
    return render_template("issuer.html", issuer=issuer, achievements=achievements,
                           page_url=urls.issuer_profile(issuer.slug), score=_plain_number)


def render_achievement(achievement: Achievement):
    urls = current_app.extensions["badges"].urls
    return render_template("achievement.html", achievement=achievement, issuer=achievement.issuer,
                           page_url=urls.achievement(achievement.id), score=_plain_number)


def _plain_number(value) -> str:
    """Decimal("70.0000") -> "70"."""
    return format(value.normalize(), "f")
