"""The audit log: every admin action, written in the same transaction as the action itself.

`record` only adds the entry to the caller's session; the caller's commit stores the action and
its entry together, and a rollback (a failed action) stores neither. Entries are never updated
or deleted: the ORM refuses it (`issuer.models.AuditEntry`), and in production the database role
should lack UPDATE and DELETE on `audit_entries` as well.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from issuer.models import ApiToken, AuditEntry, Issuer, SigningKey

# What is recorded; the lifecycle actions (revoke, suspend, ...) join these as they are built.
ACTIONS = (
    "issuer.create", "issuer.update", "key.rotate", "token.create", "token.revoke",
    "achievement.image",  # an achievement's image uploaded (or replaced)
    "achievement.update",  # an achievement's description or policy edited (the console); for credentials issued later
    "clr.issue",  # a Comprehensive Learner Record signed for an earner (by a token, or the earner's link)
    "credential.issue",
    "credential.renew",  # a new pass of an earner holding a current credential (instead of credential.issue)
    # The lifecycle (issuer/lifecycle.py): the admin's reason is the entry's reason.
    "credential.revoke", "credential.suspend", "credential.unsuspend", "credential.reissue",
    # An earner's management link made by an admin; the earner's own choices through it (actor "earner").
    "credential.management_link", "credential.earner_update",
    # Pathways (issuer/pathways): defined, or changed before any award.
    "pathway.create", "pathway.update",
    # The deployment (issuer/nodes.py, command line only): the key-encryption key re-sealing every
    # issuer key, and the origin moving.
    "kek.rotate", "origin.move",
    # Relying parties and webhook endpoints (issuer/webhooks); "webhook.disable": deliveries
    # failed for the whole retry period, so the endpoint was turned off (actor "cli": the service).
    "party.create", "webhook.create", "webhook.rotate", "webhook.delete", "webhook.disable", "webhook.redeliver",
)


def record(session: Session, *, action: str, token: ApiToken | None, issuer_id: str | None,
           subject_type: str, subject_id: str, at: datetime, reason: str | None = None,
           details: dict | None = None, actor: str | None = None, user: str | None = None) -> AuditEntry:
    """Add one entry. `token` is the token that acted, or None for the command line; `actor`
    names who acted when it was neither (the earner, through their management link); `user` is
    the email of the person who acted in the console (actor "user", the email in the details)."""
    if user is not None:
        actor, details = "user", {**(details or {}), "user": user}
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        at=at,
        action=action,
        actor=actor or ("token" if token is not None else "cli"),
        token_id=token.id if token is not None else None,
        issuer_id=issuer_id,
        subject_type=subject_type,
        subject_id=subject_id,
        reason=reason,
        details=details or {},
    )
    session.add(entry)
    return entry


def issuer_created(session: Session, issuer: Issuer, *, token: ApiToken | None) -> AuditEntry:
    return record(session, action="issuer.create", token=token, issuer_id=issuer.id, subject_type="issuer",
                  subject_id=issuer.id, at=issuer.created_at, details={"slug": issuer.slug, "did": issuer.did})


def token_created(session: Session, created: ApiToken, *, by: ApiToken | None) -> AuditEntry:
    session.flush()  # gives the new token its id
    return record(session, action="token.create", token=by, issuer_id=created.issuer_id, subject_type="api_token",
                  subject_id=created.id, at=created.created_at, details={"label": created.label})


def key_rotated(session: Session, issuer: Issuer, key: SigningKey, *, token: ApiToken | None,
                at: datetime, user: str | None = None) -> AuditEntry:
    session.flush()
    return record(session, action="key.rotate", token=token, issuer_id=issuer.id, subject_type="signing_key",
                  subject_id=key.id, at=at, details={"verification_method": key.verification_method}, user=user)
