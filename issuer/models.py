"""What we store. Identifiers are UUID strings; times are timezone-aware UTC."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    true as sa_true,
    false as sa_false,
    event,
    Boolean,
    DateTime,
    Float,
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
    # "Ed25519" | "P-256" | "P-384": the kind of every key it makes (rotation keeps it).
    key_type: Mapped[str] = mapped_column(String(8), default="Ed25519", server_default="Ed25519")
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(2048))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Whether a new credential's page is public until its earner chooses (issuer-wide default).
    credentials_public: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    # The issuer's LinkedIn organization id, for "Add to LinkedIn profile" links.
    linkedin_organization_id: Mapped[str | None] = mapped_column(String(32))
    # Whether its new credentials carry a suspension status entry besides the revocation one
    # (which costs OB JSON Schema validity, see README "Status lists"); None: the instance's
    # STATUS_PURPOSES decide.
    suspension: Mapped[bool | None] = mapped_column(Boolean)
    # Whether other issuers of this instance may name this issuer's achievements in their pathways.
    pathways_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

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
    # "Ed25519" | "P-256" | "P-384": how the sealed private key is read and which suite it signs with.
    key_type: Mapped[str] = mapped_column(String(8), default="Ed25519", server_default="Ed25519")
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
    # An uploaded image (PNG or sanitised SVG), served at /achievements/<id>/image.
    image_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_media_type: Mapped[str | None] = mapped_column(String(32))
    passing_score: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    max_score: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    valid_for: Mapped[str | None] = mapped_column(String(64))  # ISO 8601 duration, e.g. P1Y
    # "ldp" (JSON-LD with a Data Integrity proof) | "jwt" (OB 3.0 VC-JWT): the form its credentials are answered in.
    credential_format: Mapped[str] = mapped_column(String(8), default="ldp", server_default="ldp")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A pathway (issuer/pathways): the requirement tree of achievement ids it is awarded for; null
    # for an achievement earned by an assessment. A pathway takes no results.
    requirements: Mapped[dict | None] = mapped_column(JSON)
    # A pathway's rule that every component credential counted must be valid at the same moment.
    all_valid_at_once: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    issuer: Mapped[Issuer] = relationship()

    @property
    def is_pathway(self) -> bool:
        return self.requirements is not None


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
    # "ldp" | "jwt": the form it was issued in. A "jwt" credential keeps its VC-JWT exactly as
    # issued in `jwt` (the same credential as `document`, without the Data Integrity proof).
    credential_format: Mapped[str] = mapped_column(String(8), default="ldp", server_default="ldp")
    jwt: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # "active" | "suspended" | "revoked" (final). Our status lists publish it: a credential's
    # revocation bit is set while it is revoked, its suspension bit while it is suspended.
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who earned it, as "did:..." or "mailto:<lower-cased email>": a new pass by the same earner
    # for the same achievement renews it. Null for VC API credentials.
    earner: Mapped[str | None] = mapped_column(String(2048), index=True)
    # Renewal (a new pass; the old one stays valid until it expires) and reissue (a correction;
    # the old one is revoked as superseded) link both ways.
    renews_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"))
    renewed_by_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"))
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"))
    superseded_by_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"))
    # The earner's choices, made through their private management link (only its SHA-256 is kept).
    public: Mapped[bool | None] = mapped_column(Boolean)  # None: the issuer's default
    display_name: Mapped[str | None] = mapped_column(String(255))
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    result: Mapped[AssessmentResult | None] = relationship(back_populates="credential")
    achievement: Mapped[Achievement | None] = relationship()
    issuer: Mapped[Issuer] = relationship()
    status_entries: Mapped[list[StatusEntry]] = relationship(back_populates="credential")
    supersedes: Mapped[Credential | None] = relationship(foreign_keys=[supersedes_id], remote_side="Credential.id")

    @property
    def current(self) -> bool:
        """The earner's current credential: not revoked and not renewed by a newer one."""
        return self.status != "revoked" and self.renewed_by_id is None

    @property
    def origin_result(self) -> AssessmentResult | None:
        """The assessment result this credential stands for; a reissued credential has none of
        its own, so it is the result of the credential it superseded (and so on)."""
        credential = self
        while credential.result is None and credential.supersedes is not None:
            credential = credential.supersedes
        return credential.result


class StatusList(Base):
    """One W3C Bitstring Status List of an issuer, for one purpose (revocation or suspension).

    Its bits are not stored: they are derived from the status of the credentials holding a
    position in it (`StatusEntry`). `version` goes up with every change, and the signed list last
    published is kept with the version it shows, so an unchanged list is served as stored.
    """

    __tablename__ = "status_lists"
    __table_args__ = (UniqueConstraint("issuer_id", "purpose", "sequence"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "revocation" | "suspension"
    sequence: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per issuer and purpose
    length: Mapped[int] = mapped_column(Integer)  # bits in the published list
    capacity: Mapped[int] = mapped_column(Integer)  # positions handed out before a new list starts
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_document: Mapped[dict | None] = mapped_column(JSON)
    published_version: Mapped[int | None] = mapped_column(Integer)
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its validUntil
    published_etag: Mapped[str | None] = mapped_column(String(80))

    issuer: Mapped[Issuer] = relationship()


class StatusEntry(Base):
    """A credential's position in one status list. A position is never given twice."""

    __tablename__ = "status_entries"
    __table_args__ = (UniqueConstraint("list_id", "position"), UniqueConstraint("credential_id", "list_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)

    status_list: Mapped[StatusList] = relationship()
    credential: Mapped[Credential] = relationship(back_populates="status_entries")


class PathwayComponent(Base):
    """An achievement named (anywhere) in a pathway's requirements: what a new credential of it
    may complete, found without reading every pathway's tree."""

    __tablename__ = "pathway_components"
    __table_args__ = (UniqueConstraint("pathway_id", "achievement_id"),)

    # A key of one column, as every table has (backups restore rows by it).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pathway_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"), index=True)
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"), index=True)


class PathwayAward(Base):
    """A pathway credential and the component credentials it was awarded for.

    `award_key` is unique: the pathway, the earner, the component credentials and the credential
    it renews. Two transactions that would award the same thing cannot both commit.
    """

    __tablename__ = "pathway_awards"

    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), primary_key=True)
    pathway_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"), index=True)
    earner: Mapped[str] = mapped_column(String(2048))
    award_key: Mapped[str] = mapped_column(String(64), unique=True)
    components: Mapped[list] = mapped_column(JSON, default=list)  # component credential ids
    # The component credential whose new pass completed the pathway (its result's answer names the award).
    awarded_for: Mapped[str | None] = mapped_column(String(36), index=True)
    # The component credential whose revocation or suspension suspended this one (or revoked it,
    # when it has no suspension entry: issuer/pathways/services.py); null otherwise.
    suspended_for: Mapped[str | None] = mapped_column(String(36))

    credential: Mapped[Credential] = relationship()


class Notification(Base):
    """An email to an earner (award, expiry reminder). The unique (credential, kind) pair is what
    makes a reminder go out once: a run claims the row before sending and marks it sent after."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("credential_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # "issued", "expiry-30d", ...
    recipient: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    credential: Mapped[Credential] = relationship()


class ApiToken(Base):
    """A Bearer token. Only its SHA-256 is stored; the token is shown once, when made."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Null: the token acts on the whole instance (create issuers, any issuer's data), unless it
    # is a relying party's token (`party_id`), which sees no issuer's data at all.
    issuer_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id"), index=True)
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"), index=True)
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
    actor: Mapped[str] = mapped_column(String(16))  # "token" | "cli" | "earner" (management link)
    # Null when the command line acted (it has no token).
    token_id: Mapped[str | None] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    # Null for instance-wide actions (an instance token made or revoked).
    issuer_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    issuer: Mapped[Issuer | None] = relationship()


class DeploymentSetting(Base):
    """What every node of a deployment must agree on, recorded once in the shared database:
    `origin`, the public origin its identifiers (did:web, credential ids, status lists) are minted under."""

    __tablename__ = "deployment_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A person who signs in to the console (issuer/people). The password is stored as an argon2
    hash only; `totp_secret`, when set, is the second factor (sealed with the key-encryption key)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The time step of the last second-factor code accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped by a password change or reset: sessions made before it end.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Membership(Base):
    """A user's role at one issuer: "owner", "editor" or "viewer"."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "issuer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    user: Mapped[User] = relationship(back_populates="memberships")
    issuer: Mapped[Issuer] = relationship()


class PasswordReset(Base):
    """A password-reset link: only the SHA-256 of its token is stored; used once, before it expires."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VerificationCount(Base):
    """How many times our verifier verified one of this issuer's credentials on one UTC day."""

    __tablename__ = "verification_counts"
    __table_args__ = (UniqueConstraint("issuer_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer_id: Mapped[str] = mapped_column(ForeignKey("issuers.id"))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    count: Mapped[int] = mapped_column(Integer, default=0)


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


class EarnerSignInLink(Base):
    """A one-time sign-in link to an earner's portfolio (/me), mailed to the address their
    credentials were issued to. Only the token's SHA-256 is kept; `used_at` makes it single use."""

    __tablename__ = "earner_sign_in_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "mailto:<lower-cased email>", as Credential.earner holds it.
    earner: Mapped[str] = mapped_column(String(2048), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Portfolio(Base):
    """An earner's published portfolio page, /p/<slug>: the credentials they picked. One per earner;
    unpublishing removes the row (and frees the slug)."""

    __tablename__ = "portfolios"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    earner: Mapped[str] = mapped_column(String(2048), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    credential_ids: Mapped[list] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- relying parties and webhooks (issuer/webhooks) ---------------------------------------------------------

class Party(Base):
    """A relying party (an employer): it verifies, and keeps its own webhook endpoints (and
    watches); its tokens see nothing of any issuer's data."""

    __tablename__ = "parties"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    # Where the party is told what needs it (an endpoint disabled after failing for too long).
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    """Where events are posted, owned by one issuer or one relying party (exactly one is set).
    The signing secret is sealed with the key-encryption key; it is shown once, when made or
    rotated."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    issuer_id: Mapped[str | None] = mapped_column(ForeignKey("issuers.id"), index=True)
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # The event types sent; null: all of them.
    events: Mapped[list | None] = mapped_column(JSON)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when deliveries failed for good (every retry for the retry period); nothing more is sent.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookMessage(Base):
    """The outbox: one event for one endpoint, written in the transaction of the change it tells
    of. `id` is the Standard Webhooks `webhook-id`, the same on every attempt. `sequence` orders one
    endpoint's messages about one `subject` (a credential; a watch for a relying party's events): a
    message is not sent before the earlier ones about the same subject."""

    __tablename__ = "webhook_messages"
    # `dedupe_key`: an event that must be told once per endpoint (an expiry) carries one.
    __table_args__ = (UniqueConstraint("endpoint_id", "dedupe_key"),)

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "pending" | "delivered" | "failed" (gave up after the retry period)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Retries stop WEBHOOK_RETRY_PERIOD_SECONDS after this (its creation, or a manual redelivery).
    retry_from: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # A worker sending it holds it until then; a worker that died lets go when it passes.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(Base):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("webhook_messages.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no answer (refused, timed out)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


# --- watches: a relying party's credentials, revalidated as the world changes (issue 12) ---------

class Watch(Base):
    """A credential a relying party watches. `source` is what is verified again at each
    revalidation: {"credential": <JSON-LD>} or {"jwt": "..."}; `own_credential_id` names it when it
    is one of ours (a renewal moves the watch to the earner's newer credential)."""

    __tablename__ = "watches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(255))
    reference: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[dict] = mapped_column(JSON)
    credential_id: Mapped[str | None] = mapped_column(String(2048))  # the credential's own "id"
    own_credential_id: Mapped[str | None] = mapped_column(ForeignKey("credentials.id"), index=True)
    issuer_did: Mapped[str | None] = mapped_column(String(2048))
    # valid | revoked | suspended | expired | unverifiable | invalid
    state: Mapped[str] = mapped_column(String(16), index=True)
    code: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[dict] = mapped_column(JSON)
    # Every check but the status check passed at the last full verification: a status list's
    # bits then decide the verdict alone.
    checks_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The next moment time changes the verdict (validFrom arrives, expiring, validUntil passes).
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Since when the verdict could not be determined (a list or DID unreachable): told after a grace period.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WatchChange(Base):
    """A watch's history: one row per change of its verdict (or of the credential watched)."""

    __tablename__ = "watch_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    watch_id: Mapped[str] = mapped_column(ForeignKey("watches.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(64))


class WatchEntry(Base):
    """One status entry of a watched credential: the list and the bit that decide part of its verdict."""

    __tablename__ = "watch_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    watch_id: Mapped[str] = mapped_column(ForeignKey("watches.id"), index=True)
    list_url: Mapped[str] = mapped_column(String(2048), index=True)
    position: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(32))
    bit: Mapped[int] = mapped_column(Integer, default=0)


class WatchedList(Base):
    """A status list some watch depends on: refetched (conditionally) when its ttl runs out."""

    __tablename__ = "watched_lists"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The list's ttl (or max-age) at its last full answer, kept for the 304s that follow.
    ttl_seconds: Mapped[float | None] = mapped_column(Float)
    next_fetch_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    error: Mapped[str | None] = mapped_column(Text)
