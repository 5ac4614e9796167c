"""Several nodes, one identity: what every node of a deployment must share, checked at start.

Every node (a `badges serve`, a gunicorn worker under `wsgi.py`, a background worker) signs with
the issuers' keys sealed in the shared database, so it needs the deployment's key-encryption key;
and every identifier it mints (did:web, credential ids, status lists) names one public origin,
recorded in the database the first time a node starts. `check_node` proves both before a node
serves anything; a node that fails it refuses to start with one line naming the setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer import audit
from issuer.config import ConfigurationError
from issuer.db import transaction
from issuer.models import Credential, DeploymentSetting, Issuer, SigningKey
from issuer.urls import Urls
from keys import KeyEncryptionKey, KeyUnsealError
from keys.errors import KeyEncryptionKeyError
from keys.documents import did_web_for

ORIGIN = "origin"
KEK_SETTINGS = "BADGES_KEY_ENCRYPTION_KEY or BADGES_KEY_ENCRYPTION_KEY_FILE"


class OriginMoveRefused(Exception):
    """`badges origin move` would leave identifiers that were handed out unresolvable."""


def check_node(app) -> None:
    """Refuse to run a node that would mint identifiers under another origin than the deployment's,
    or that cannot open every issuer's active signing key. On a database that records no origin
    yet, this records the node's (after checking the did:web issuers already there were minted
    under it). Any process that serves or signs calls this first (a background worker too).

    :raise ConfigurationError: one line naming the setting to fix.
    """
    services = app.extensions["badges"]
    check_origin(services)
    check_keys(services)


def recorded_origin(session: Session) -> str | None:
    row = session.get(DeploymentSetting, ORIGIN)
    return row.value if row is not None else None


def check_origin(services) -> str:
    """The deployment's origin, which must be this node's BASE_URL (recorded now if the database
    has none yet)."""
    base = services.urls.base_url
    with services.sessionmaker() as session:
        recorded = recorded_origin(session)
        if recorded is None:
            _check_minted_under(session, services.urls)
            try:
                with transaction(session):
                    session.add(DeploymentSetting(name=ORIGIN, value=base, changed_at=services.clock()))
            except IntegrityError:  # another node recorded it meanwhile: compare with theirs
                session.rollback()
                recorded = recorded_origin(session)
            else:
                return base
    if recorded != base:
        raise ConfigurationError(
            f"BADGES_BASE_URL is {base!r}, but this deployment's identifiers are minted under {recorded!r}: "
            f"set BADGES_BASE_URL={recorded} on this node (to move the deployment, see `badges origin move`)")
    return recorded


def _check_minted_under(session: Session, urls: Urls) -> None:
    """A database from before origins were recorded: its did:web issuers and credentials show the
    origin they were minted under, which must be this node's."""
    for issuer in session.scalars(select(Issuer).where(Issuer.did_method == "web").order_by(Issuer.created_at)):
        if issuer.did != urls.issuer_did_web(issuer.slug):
            raise ConfigurationError(
                f"BADGES_BASE_URL is {urls.base_url!r}, but issuer {issuer.slug!r} was created under another "
                f"origin ({issuer.did}): set BADGES_BASE_URL to the origin that serves it")
    latest = session.scalar(select(Credential.document).order_by(Credential.issued_at.desc()).limit(1))
    if latest is not None and not str(latest.get("id", "")).startswith(urls.credential("")):
        raise ConfigurationError(
            f"BADGES_BASE_URL is {urls.base_url!r}, but credentials were issued under another origin "
            f"({latest.get('id')}): set BADGES_BASE_URL to the origin that serves them")


def check_keys(services) -> None:
    """Open the active key of every issuer with this node's key-encryption key."""
    with services.sessionmaker() as session:
        keystore = services.keystore(session)
        rows = session.execute(
            select(Issuer.slug, SigningKey).join(SigningKey, SigningKey.issuer_id == Issuer.id)
            .where(SigningKey.retired_at.is_(None)).order_by(Issuer.slug))
        for slug, key in rows:
            try:
                keystore.signer(key)
            except KeyUnsealError:
                raise ConfigurationError(
                    f"the key-encryption key of this node does not open the signing key of issuer {slug!r}: every "
                    f"node of a deployment needs the same key-encryption key ({KEK_SETTINGS})") from None
            except KeyEncryptionKeyError as error:
                raise ConfigurationError(str(error)) from None


# --- rotating the key-encryption key ------------------------------------------------------------

@dataclass(frozen=True)
class Resealed:
    resealed: int  # keys sealed with the old KEK, now with the new one
    already: int  # keys the new KEK opened already (a rotation that committed before, resumed)


def rotate_key_encryption_key(services, new: KeyEncryptionKey, *, on_key=None) -> Resealed:
    """Re-seal every private key (active and retired) with `new`, in one transaction: all or none.

    Keys that `new` opens already are left as they are, so a rotation can be run again after an
    interruption, whether the interruption came before its commit (nothing changed) or after it.
    `on_key(n)` is called after each re-sealed key (progress; tests interrupt there).

    :raise KeyUnsealError: a key opens with neither key-encryption key (nothing is changed).
    """
    old = services.key_encryption_key
    resealed = already = 0
    with services.sessionmaker() as session, transaction(session):
        _lock_signing_keys(session)
        for key in session.scalars(select(SigningKey).order_by(SigningKey.issuer_id, SigningKey.sequence)):
            try:
                seed = old.open(key.sealed_private_key, key_id=key.id)
            except KeyUnsealError:
                try:
                    new.open(key.sealed_private_key, key_id=key.id)
                except KeyUnsealError:
                    raise KeyUnsealError(
                        f"signing key {key.verification_method} opens with neither this node's key-encryption key "
                        f"({KEK_SETTINGS}) nor the new one") from None
                already += 1
                continue
            key.sealed_private_key = new.seal(seed, key_id=key.id)
            resealed += 1
            session.flush()
            if on_key is not None:
                on_key(resealed)
        _reseal_second_factors(session, old, new)
        if resealed:
            audit.record(session, action="kek.rotate", token=None, issuer_id=None, subject_type="deployment",
                         subject_id="key-encryption-key", at=services.clock(),
                         details={"resealed": resealed, "already": already})
    return Resealed(resealed, already)


def _reseal_second_factors(session: Session, old: KeyEncryptionKey, new: KeyEncryptionKey) -> None:
    """Console users' TOTP secrets are sealed with the key-encryption key too (issuer/people)."""
    from issuer.models import User

    for user in session.scalars(select(User).where(User.totp_secret.is_not(None))):
        key_id = f"totp:{user.id}"
        try:
            secret = old.open(user.totp_secret, key_id=key_id)
        except KeyUnsealError:
            continue  # sealed with the new one already (a rotation run again)
        user.totp_secret = new.seal(secret, key_id=key_id)


def _lock_signing_keys(session: Session) -> None:
    """No key is added or changed (a key rotation on another node) until this transaction ends: it
    would be sealed with the old key-encryption key."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE signing_keys IN EXCLUSIVE MODE"))
    else:
        # SQLite has one write lock for the whole database; any write statement takes it.
        session.execute(text("UPDATE signing_keys SET sequence = sequence WHERE 1 = 0"))


# --- moving the deployment to another origin ----------------------------------------------------

def check_new_origin(new: str) -> str:
    """`new` as a base URL: http(s), a host, no query or fragment; https unless on loopback."""
    from issuer.serving.settings import is_loopback

    parts = urlsplit(new)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise OriginMoveRefused(f"{new!r} is not an origin such as https://badges.example.org")
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise OriginMoveRefused(f"{new!r} must be https (plain http only on loopback, for trials)")
    return Urls(new).base_url


def move_origin(services, new: str, *, now: datetime) -> list[str]:
    """Make `new` the deployment's origin; answers the did:web issuers' new DIDs.

    Identifiers handed out are signed into credentials and must stay resolvable where they name:
    so the move is refused once any credential was issued under the old origin (its id, its
    status lists and its issuer's did:web document are read at the old origin, for good). Before
    that, nothing outside knows the old identifiers, and the did:web issuers are re-minted under
    `new` (their DIDs and verification methods; the keys stay).

    :raise OriginMoveRefused: the new origin is not usable, or credentials exist.
    """
    new = check_new_origin(new)
    with services.sessionmaker() as session, transaction(session):
        # Lock the origin row first: concurrent moves (and first starts) take turns on it.
        row = session.get(DeploymentSetting, ORIGIN, with_for_update=True)
        old = row.value if row is not None else None
        if row is None:
            session.add(DeploymentSetting(name=ORIGIN, value=new, changed_at=now))
        else:
            row.value, row.changed_at = new, now
        session.flush()
        issued = session.scalar(select(func.count()).select_from(Credential))
        if issued:
            raise OriginMoveRefused(
                f"{issued} credential(s) were issued under the current origin: their ids, status lists and "
                "issuers' did:web documents must stay readable there, so the origin cannot move; keep serving it "
                "(another host name may redirect people to it)")
        dids = []
        for issuer in session.scalars(select(Issuer).where(Issuer.did_method == "web").order_by(Issuer.slug)):
            old_did, issuer.did = issuer.did, did_web_for(new, "issuers", issuer.slug)
            for key in session.scalars(select(SigningKey).where(SigningKey.issuer_id == issuer.id)):
                key.verification_method = issuer.did + key.verification_method.removeprefix(old_did)
            dids.append(issuer.did)
        audit.record(session, action="origin.move", token=None, issuer_id=None, subject_type="deployment",
                     subject_id="origin", at=now, details={"from": old, "to": new, "issuers": dids})
    return dids
