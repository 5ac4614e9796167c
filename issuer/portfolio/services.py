"""The earner's portfolio: which credentials are theirs, one-time sign-in links, what the portfolio
page groups and warns about, the "download everything" zip, and published portfolio pages.

An earner is known by the email address their credentials were issued to. A credential is theirs
when its stored earner key is that address *and* the salted identity hash in its signed subject is
the hash of that address: the hash the credential itself carries decides, the stored key only
narrows the search (a credential never holds the email).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from issuer import openbadges
from issuer.models import Credential, EarnerSignInLink, Portfolio

MAX_EMAIL = 320
MAX_TITLE = 120
# secrets.token_urlsafe(32): 43 characters of base64url. Anything else names no link.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}\Z")
# 3 to 64 lower-case letters, digits and inner hyphens: safe in a URL and read aloud.
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62})[a-z0-9]\Z")


def read_email(text: str) -> str | None:
    """The address trimmed and lower-cased, or None when it cannot be an email address."""
    email = (text or "").strip().lower()
    if not email or len(email) > MAX_EMAIL or email.count("@") != 1:
        return None
    local, _, domain = email.partition("@")
    if not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return None
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cs", "Cf") for c in email):
        return None
    return email


def earner_key(email: str) -> str:
    """What Credential.earner holds for a credential issued to `email`."""
    return f"mailto:{email.strip().lower()}"


def _subject(document: dict) -> dict:
    subject = document.get("credentialSubject")
    if isinstance(subject, list):
        subject = next((s for s in subject if isinstance(s, dict)), None)
    return subject if isinstance(subject, dict) else {}


def issued_to(document: dict, email: str) -> bool:
    """Whether the signed credential names `email` by a salted identity hash."""
    identifiers = _subject(document).get("identifier")
    identifiers = identifiers if isinstance(identifiers, list) else [identifiers]
    for identifier in identifiers:
        if not isinstance(identifier, dict) or identifier.get("identityType") != "emailAddress":
            continue
        salt = identifier.get("salt")
        if not isinstance(salt, str):
            continue
        expected = openbadges.hashed_email_identifier(email, salt)["identityHash"]
        if secrets.compare_digest(str(identifier.get("identityHash", "")), expected):
            return True
    return False


def credentials_of(session: Session, email: str) -> list[Credential]:
    """Every credential of this instance issued to `email`, whatever its issuer or status, oldest first."""
    candidates = session.scalars(
        select(Credential)
        .where(Credential.earner == earner_key(email))
        .options(selectinload(Credential.issuer), selectinload(Credential.achievement))
        .order_by(Credential.issued_at, Credential.id)
    ).all()
    return [c for c in candidates if issued_to(c.document, email)]


# ---------------------------------------------------------------- sign-in links


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_sign_in_link(session: Session, email: str, *, now: datetime, lifetime: timedelta) -> str:
    """Record a one-time link for `email` and return its token (only its SHA-256 is stored), and forget
    expired links. The caller commits."""
    # Links that can no longer be used are of no use to keep.
    session.execute(delete(EarnerSignInLink).where(EarnerSignInLink.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(EarnerSignInLink(token_hash=hash_token(token), earner=earner_key(email), created_at=now,
                                 expires_at=now + lifetime))
    session.flush()
    return token


def usable_link(session: Session, token: str, *, now: datetime) -> EarnerSignInLink | None:
    """The unused, unexpired link with this token; None for anything else."""
    if not _TOKEN.match(token or ""):
        return None
    link = session.scalar(select(EarnerSignInLink).where(EarnerSignInLink.token_hash == hash_token(token)))
    if link is None or link.used_at is not None or now >= link.expires_at:
        return None
    return link


def use_link(session: Session, token: str, *, now: datetime) -> str | None:
    """Spend the link: the email it signs in, or None when it is unknown, used or expired. A
    conditional UPDATE, so two requests racing with the same link cannot both sign in. The caller commits."""
    if not _TOKEN.match(token or ""):
        return None
    row = session.execute(
        update(EarnerSignInLink)
        .where(EarnerSignInLink.token_hash == hash_token(token), EarnerSignInLink.used_at.is_(None),
               EarnerSignInLink.expires_at > now)
        .values(used_at=now)
        .returning(EarnerSignInLink.earner)
    ).first()
    return row[0].removeprefix("mailto:") if row else None


# ---------------------------------------------------------------- what the portfolio shows


@dataclass
class Entry:
    credential: Credential
    name: str
    issuer_name: str
    earned: datetime
    expires: datetime | None
    renewal: bool  # it renews an earlier credential
    state: str  # "current" | "renewed" | "revoked" | "suspended" | "expired" | "superseded"
    public: bool
    alignments: list[str] = field(default_factory=list)


@dataclass
class Overview:
    entries: list[Entry]
    by_achievement: list[tuple[str, list[Entry]]]  # (achievement name, its credentials newest first)
    by_skill: list[tuple[str, list[Entry]]]  # (alignment name, current credentials aligned to it)
    renew_soon: list[Entry]  # current credentials that expire within the window (or have expired)


def _state(credential: Credential, now: datetime) -> str:
    if credential.status == "revoked":
        return "superseded" if credential.superseded_by_id else "revoked"
    if credential.renewed_by_id:
        return "renewed"
    if credential.status == "suspended":
        return "suspended"
    if credential.valid_until is not None and now >= credential.valid_until:
        return "expired"
    return "current"


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def entry(credential: Credential, *, now: datetime, public: bool) -> Entry:
    document = credential.document
    achievement = _subject(document).get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    issuer = document.get("issuer") if isinstance(document.get("issuer"), dict) else {}
    alignments = achievement.get("alignment")
    alignments = alignments if isinstance(alignments, list) else [alignments]
    names = [_text(a.get("targetName")) for a in alignments if isinstance(a, dict)]
    return Entry(
        credential=credential,
        name=_text(achievement.get("name")) or _text(document.get("name")) or "Credential",
        issuer_name=_text(issuer.get("name")) or credential.issuer.name,
        earned=credential.valid_from or credential.issued_at,
        expires=credential.valid_until,
        renewal=credential.renews_id is not None,
        state=_state(credential, now),
        public=public,
        alignments=sorted({n for n in names if n}),
    )


def overview(credentials: list[Credential], *, now: datetime, renewal_window: timedelta, is_public) -> Overview:
    entries = [entry(c, now=now, public=is_public(c)) for c in credentials]
    groups: dict[tuple, list[Entry]] = {}
    for item in entries:
        key = (item.credential.achievement_id or item.name, item.issuer_name)
        groups.setdefault(key, []).append(item)
    by_achievement = sorted(
        ((f"{items[0].name}", sorted(items, key=lambda e: e.earned, reverse=True)) for items in groups.values()),
        key=lambda group: group[0].lower(),
    )
    skills: dict[str, list[Entry]] = {}
    for item in entries:
        if item.state == "current":
            for name in item.alignments:
                skills.setdefault(name, []).append(item)
    by_skill = sorted(skills.items(), key=lambda group: group[0].lower())
    renew_soon = sorted(
        (e for e in entries if e.expires is not None and e.credential.renewed_by_id is None
         and e.credential.status == "active" and e.expires - now <= renewal_window),
        key=lambda e: e.expires,
    )
    return Overview(entries, by_achievement, by_skill, renew_soon)


# ---------------------------------------------------------------- download everything


def archive(credentials: list[Credential], baked_png) -> bytes:
    """A zip of each credential's signed JSON (and VC-JWT when it has one) and its baked PNG badge.
    `baked_png(credential)` makes the PNG."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for credential in credentials:
            zipped.writestr(f"credential-{credential.id}.json",
                            json.dumps(credential.document, ensure_ascii=False, indent=2))
            if credential.credential_format == "jwt" and credential.jwt:
                zipped.writestr(f"credential-{credential.id}.jwt", credential.jwt)
            zipped.writestr(f"badge-{credential.id}.png", baked_png(credential))
    return out.getvalue()


# ---------------------------------------------------------------- published portfolio pages


class PublishError(ValueError):
    """A portfolio that cannot be published as asked; the message says why, for the form."""


def read_title(text: str) -> str:
    title = (text or "").strip()
    if not title:
        raise PublishError("Give the page a title.")
    if len(title) > MAX_TITLE:
        raise PublishError(f"The title can be at most {MAX_TITLE} characters long.")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in title):
        raise PublishError("The title cannot contain control characters.")
    return title


def read_slug(text: str) -> str:
    slug = (text or "").strip().lower()
    if not SLUG.match(slug):
        raise PublishError("The address must be 3 to 64 characters: lower-case letters, digits and hyphens, "
                           "starting and ending with a letter or digit.")
    return slug


def portfolio_of(session: Session, email: str) -> Portfolio | None:
    return session.scalar(select(Portfolio).where(Portfolio.earner == earner_key(email)))


def publish(session: Session, email: str, *, slug: str, title: str, picked: list[str], own: list[Credential],
            now: datetime) -> Portfolio:
    """Publish (or change) the earner's portfolio page. `own` is the earner's credentials: only
    those may be picked. The caller commits; a slug taken meanwhile raises PublishError.

    :raise PublishError: a bad slug or title, a credential that is not theirs, nothing picked, the slug taken.
    """
    slug, title = read_slug(slug), read_title(title)
    ids = {c.id for c in own}
    chosen = list(dict.fromkeys(picked))
    if not chosen:
        raise PublishError("Pick at least one credential to show.")
    if any(credential_id not in ids for credential_id in chosen):
        raise PublishError("Pick only your own credentials.")
    taken = session.scalar(select(Portfolio).where(Portfolio.slug == slug))
    if taken is not None and taken.earner != earner_key(email):
        raise PublishError("That address is taken; choose another.")
    portfolio = portfolio_of(session, email)
    if portfolio is None:
        portfolio = Portfolio(earner=earner_key(email), slug=slug, title=title, credential_ids=chosen, published_at=now)
        session.add(portfolio)
    else:
        portfolio.slug, portfolio.title, portfolio.credential_ids, portfolio.published_at = slug, title, chosen, now
    session.flush()  # a slug taken by a concurrent publish raises IntegrityError: the caller rolls back
    return portfolio


def unpublish(session: Session, email: str) -> bool:
    portfolio = portfolio_of(session, email)
    if portfolio is None:
        return False
    session.delete(portfolio)
    session.flush()
    return True


def published(session: Session, slug: str) -> tuple[Portfolio, list[Credential]] | None:
    """The portfolio at `slug` and the credentials it shows: those picked that are still its earner's."""
    if not SLUG.match(slug or ""):
        return None
    portfolio = session.scalar(select(Portfolio).where(Portfolio.slug == slug))
    if portfolio is None:
        return None
    email = portfolio.earner.removeprefix("mailto:")
    own = {c.id: c for c in credentials_of(session, email)}
    return portfolio, [own[i] for i in portfolio.credential_ids if i in own]
