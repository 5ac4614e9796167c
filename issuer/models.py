"""What we store. Identifiers are UUID strings; times are timezone-aware UTC."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    JSON,
    event,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from issuer.db import Base


class UTCDateTime(TypeDecorator):
    """Stores UTC; always gives back an aware datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def new_id() -> str:
    return str(uuid.uuid4())


# Anything that is not one of our UUID strings names nothing, and is not sent to the database:
# PostgreSQL refuses text with a NUL byte with an error rather than finding no row.
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def is_id(value: str) -> bool:
    return bool(_ID.match(value))


class Issuer(Base):
    __tablename__ = "issuers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    did: Mapped[str] = mapped_column(String(255), unique=True)
    did_method: Mapped[str] = mapped_column(String(8))  # "web" | "key"
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2048))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    keys: Mapped[list[SigningKey]] = relationship(
        back_populates="issuer", order_by="SigningKey.sequence"
    )


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("issuer_id", "sequence"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    # 1, 2, 3... per issuer; the fragment of a did:web verification method is key-<sequence>.
    sequence: Mapped[int] = mapped_column(Integer)
    verification_method: Mapped[str] = mapped_column(String(512), unique=True)
    public_key_multibase: Mapped[str] = mapped_column(String(128))
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship(back_populates="keys")

    @property
    def active(self) -> bool:
        return self.retired_at is None

    def __repr__(self) -> str:
        return f"SigningKey({self.verification_method!r})"


class Achievement(Base):
    __tablename__ = "achievements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    criteria_narrative: Mapped[str] = mapped_column(Text)
    achievement_type: Mapped[str | None] = mapped_column(String(64))
    alignments: Mapped[list] = mapped_column(JSON, default=list)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    image_url: Mapped[str | None] = mapped_column(String(2048))
    passing_score: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    max_score: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    valid_for: Mapped[str | None] = mapped_column(String(64))  # ISO 8601 duration, e.g. P1Y
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()


class AssessmentResult(Base):
    """One completed assessment as the platform reported it, pass or fail."""

    __tablename__ = "assessment_results"
    # The platform's external_id is unique per issuer: it is the idempotency key.
    __table_args__ = (UniqueConstraint("issuer_id", "external_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(255))
    # Kept to reach the earner (reminders); never written into a credential.
    recipient_email: Mapped[str | None] = mapped_column(String(320))
    recipient_name: Mapped[str | None] = mapped_column(String(255))
    recipient_did: Mapped[str | None] = mapped_column(String(2048))
    score: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    evidence: Mapped[list] = mapped_column(JSON, default=list)
    passed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)

    achievement: Mapped[Achievement] = relationship()
    credential: Mapped[Credential | None] = relationship(back_populates="result")


class Credential(Base):
    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    # Null for credentials signed through the VC API, which come from no assessment.
    achievement_id: Mapped[str | None] = mapped_column(ForeignKey("achievements.id"), index=True)
    result_id: Mapped[str | None] = mapped_column(ForeignKey("assessment_results.id"), unique=True)
    signing_key_id: Mapped[str] = mapped_column(ForeignKey("signing_keys.id"))
    # The signed credential exactly as signed and as served.
    document: Mapped[dict] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")

    result: Mapped[AssessmentResult | None] = relationship(back_populates="credential")
    achievement: Mapped[Achievement | None] = relationship()
    issuer: Mapped[Issuer] = relationship()


class ApiToken(Base):
    """A Bearer token. Only its SHA-256 is stored; the token is shown once, when made."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Null: the token acts on the whole instance (create issuers, any issuer's data).
    issuer_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer | None] = relationship()


class AuditEntry(Base):
    """One admin action: who did it (a token, or the command line), when, to what, and why.

    Entries are only ever added. The ORM refuses to update or delete one (see the events below);
    in production the database role the service connects as should also lack UPDATE and DELETE
    on `audit_entries`, so that not even raw SQL from the application can rewrite the log.
    """

    __tablename__ = "audit_entries"

    # A sequence, not a UUID: it orders the log as it was written and is the paging cursor.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))  # e.g. credential.issue, token.revoke
    actor: Mapped[str] = mapped_column(String(16))  # "token" | "cli"
    # Null when the command line acted (it has no token).
    token_id: Mapped[str | None] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    # Null for instance-wide actions (an instance token made or revoked).
    issuer_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    issuer: Mapped[Issuer | None] = relationship()


class AuditLogImmutable(Exception):
    """Someone tried to change or remove an audit entry."""


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper, _connection, entry):
    raise AuditLogImmutable(f"audit entry {entry.id} cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper, _connection, entry):
    raise AuditLogImmutable(f"audit entry {entry.id} cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState):
    """`session.execute(update(AuditEntry))` and `delete(AuditEntry)` skip the mapper events above."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None and state.bind_mapper.class_ is AuditEntry:
        raise AuditLogImmutable("audit entries cannot be changed or deleted")
