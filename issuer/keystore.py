"""Issuer signing keys in the database, sealed with the key-encryption key.

Keys live in the database (not on one server's disk) so several app servers share them; the
KEK that opens them lives only in configuration or the instance folder.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dataintegrity import did_key_from_public_key, public_key_from_multibase
from issuer.db import PlainRead
from issuer.errors import Conflict
from issuer.models import Issuer, SigningKey, new_id
from keys import KeyEncryptionKey, KeySigner, generate_key, multikey_verification_method


class KeyStore:
    def __init__(self, session: Session, kek: KeyEncryptionKey):
        self._session = session
        self._kek = kek

    def create_key(self, issuer: Issuer, *, now: datetime) -> SigningKey:
        """Add a new active key of the issuer's `key_type` for `issuer`. For a did:key issuer the
        key IS the identifier, so this also sets `issuer.did`; call it once, before the issuer is
        first flushed."""
        key_id = new_id()
        key_type = issuer.key_type or "Ed25519"
        sealed = generate_key(self._kek, key_id=key_id, key_type=key_type)
        sequence = (
            self._session.scalar(
                select(func.max(SigningKey.sequence)).where(SigningKey.issuer_id == issuer.id)
            )
            or 0
        ) + 1
        if issuer.did_method == "key":
            issuer.did = did_key_from_public_key(public_key_from_multibase(sealed.public_key_multibase))
            fragment = sealed.public_key_multibase
        else:
            fragment = f"key-{sequence}"
        key = SigningKey(
            id=key_id,
            issuer_id=issuer.id,
            sequence=sequence,
            verification_method=f"{issuer.did}#{fragment}",
            public_key_multibase=sealed.public_key_multibase,
            key_type=key_type,
            sealed_private_key=sealed.sealed_private_key,
            created_at=now,
        )
        self._session.add(key)
        return key

    def active_key(self, issuer: Issuer) -> SigningKey:
        key = self._session.scalar(
            select(SigningKey)
            .where(SigningKey.issuer_id == issuer.id, SigningKey.retired_at.is_(None))
            .order_by(SigningKey.sequence.desc())
        )
        if key is None:
            raise Conflict("no_active_key", f"issuer {issuer.slug} has no active signing key")
        return key

    def signer(self, key: SigningKey) -> KeySigner:
        """The key's signer; its `cryptosuite` is the suite to sign with (eddsa-rdfc-2022 or ecdsa-rdfc-2019)."""
        return KeySigner.unseal(key.verification_method, key.sealed_private_key, self._kek, key_id=key.id,
                                key_type=key.key_type or "Ed25519")

    def rotate(self, issuer: Issuer, *, now: datetime) -> SigningKey:
        """Retire the active key and make a new one. Retired public keys stay published."""
        if issuer.did_method == "key":
            raise Conflict(
                "key_rotation_unsupported",
                "a did:key issuer's identifier is its key, so it cannot rotate; create a new issuer instead",
            )
        # Write to the issuer row first, so two concurrent rotations cannot both retire the same key
        # and add their own: PostgreSQL then holds the row lock until commit, and SQLite (which
        # ignores FOR UPDATE) takes its database write lock here, before anything else is read.
        self._session.execute(update(Issuer).where(Issuer.id == issuer.id).values(slug=Issuer.slug))
        for key in self._session.scalars(
            select(SigningKey).where(SigningKey.issuer_id == issuer.id, SigningKey.retired_at.is_(None))
        ):
            key.retired_at = now
        self._session.flush()
        return self.create_key(issuer, now=now)



def verification_methods(session: Session, issuer: Issuer) -> list[dict]:
    """Every key of `issuer`, current and retired, as Multikey verification methods."""
    keys = session.execute(select(SigningKey.verification_method, SigningKey.public_key_multibase)
                           .where(SigningKey.issuer_id == issuer.id).order_by(SigningKey.sequence))
    return _multikeys(issuer.did, keys)


# Built once: our verifier runs it at every verification, and building costs more than running.
_WEB_DID_KEYS = (
    select(SigningKey.verification_method, SigningKey.public_key_multibase)
    .select_from(Issuer).outerjoin(SigningKey, SigningKey.issuer_id == Issuer.id)
    .where(Issuer.did == bindparam("did"), Issuer.did_method == "web").order_by(SigningKey.sequence)
)


class WebDidKeys:
    """What `verification_methods` gives for our did:web issuers, in one plain read per DID: our
    verifier asks at every verification."""

    def __init__(self, engine: Engine):
        self._read = PlainRead(engine, _WEB_DID_KEYS)

    def __call__(self, did: str) -> list[dict] | None:
        """None when `did` is not one of ours."""
        rows = self._read.all(did=did)
        if not rows:
            return None
        return _multikeys(did, [row for row in rows if row.verification_method is not None])  # an issuer with no key yet


def _multikeys(did: str, keys) -> list[dict]:
    return [multikey_verification_method(did, method.split("#", 1)[1], public_key) for method, public_key in keys]
