"""User accounts. Passwords are argon2 hashes (argon2-cffi); the TOTP second factor's secret is
sealed with the key-encryption key; a password-reset link's token is stored as its SHA-256 only,
is used once and expires.

Roles: an instance admin may do everything; at one issuer, a "viewer" reads, an "editor" also
changes achievements, results and credentials' status, an "owner" also keys, tokens and settings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from issuer.models import Issuer, Membership, PasswordReset, User

ROLES = ("viewer", "editor", "owner")
MIN_PASSWORD_LENGTH = 12
RESET_VALID = timedelta(hours=1)
TOTP_ISSUER_NAME = "Badges"

_hasher = PasswordHasher()
# Verified against when the email names nobody, so that a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about an account that cannot be carried out; `code` is a stable snake_case name."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def normal_email(email: str) -> str:
    email = (email or "").strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
        raise AccountError("email_invalid", f"{email!r} is not an email address")
    return email


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError("password_too_short", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def create_user(session: Session, email: str, password: str, *, now: datetime, is_admin: bool = False,
                issuer: Issuer | None = None, role: str | None = None) -> User:
    """:raise AccountError: a bad email, a short password, an unknown role, or the email is taken."""
    email = normal_email(email)
    check_password(password)
    if (issuer is None) != (role is None):
        raise AccountError("role_needs_issuer", "give an issuer and a role together")
    if role is not None and role not in ROLES:
        raise AccountError("role_invalid", f"the role must be one of {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError("user_exists", f"there is a user {email} already")
    user = User(email=email, password_hash=_hasher.hash(password), is_admin=is_admin, created_at=now)
    session.add(user)
    if issuer is not None:
        user.memberships.append(Membership(issuer_id=issuer.id, role=role))
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None (for an unknown email as for a wrong password)."""
    try:
        email = normal_email(email)
    except AccountError:
        email = None
    user = session.scalar(select(User).where(User.email == email)) if email else None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def set_password(user: User, password: str) -> None:
    """Also ends the user's other sessions (they carry the old epoch)."""
    check_password(password)
    user.password_hash = _hasher.hash(password)
    user.session_epoch = (user.session_epoch or 0) + 1


# --- the second factor ---------------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER_NAME)


def code_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step of `code` when it is the secret's code now or one step either side (clocks
    drift), else None."""
    code = "".join((code or "").split())
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    for offset in (0, -1, 1):
        moment = now + timedelta(seconds=offset * totp.interval)
        if hmac.compare_digest(totp.at(moment), code):
            return totp.timecode(moment)
    return None


def use_code(session: Session, user: User, secret: str, code: str, now: datetime) -> bool:
    """Whether `code` signs `user` in: right now, and of a later time step than the last code
    accepted from them, so a code seen over a shoulder or in a log cannot be replayed (RFC 6238
    section 5.2). Conditional, so of two requests racing with one code one wins. The caller commits."""
    step = code_step(secret, code, now)
    if step is None:
        return False
    accepted = session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
    ).rowcount
    return bool(accepted)


def seal_totp(kek, user: User, secret: str) -> None:
    user.totp_secret = kek.seal(secret.encode("ascii"), key_id=f"totp:{user.id}")


def open_totp(kek, user: User) -> str | None:
    if user.totp_secret is None:
        return None
    return kek.open(user.totp_secret, key_id=f"totp:{user.id}").decode("ascii")


# --- roles ---------------------------------------------------------------------------------------

def role_at(user: User, issuer_id: str) -> str | None:
    """"admin" for an instance admin, else the user's role at the issuer, or None."""
    if user.is_admin:
        return "admin"
    for membership in user.memberships:
        if membership.issuer_id == issuer_id:
            return membership.role
    return None


def may(user: User, issuer_id: str, need: str) -> bool:
    """Whether the user holds `need` ("viewer", "editor" or "owner") or more at the issuer."""
    role = role_at(user, issuer_id)
    if role == "admin":
        return True
    return role is not None and ROLES.index(role) >= ROLES.index(need)


def visible_issuer_ids(user: User) -> list[str] | None:
    """None: all (an instance admin)."""
    return None if user.is_admin else [m.issuer_id for m in user.memberships]


# --- password reset ------------------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_reset(session: Session, user: User, *, now: datetime) -> str:
    """A new reset token for the user (returned once; only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(token_hash=_hash(token), user_id=user.id, created_at=now, expires_at=now + RESET_VALID))
    return token


def reset_user(session: Session, token: str, *, now: datetime) -> User | None:
    """The user a still usable (unused, unexpired) reset token is for; looking does not use it up."""
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token)))
    if reset is None or reset.used_at is not None or now >= reset.expires_at:
        return None
    return session.get(User, reset.user_id)


def complete_reset(session: Session, token: str, password: str, *, now: datetime) -> User:
    """Set the new password and use the token up; the caller commits.

    :raise AccountError: the link is unknown, used or expired (reset_invalid), or the password too short.
    """
    check_password(password)
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token)))
    if reset is None or reset.used_at is not None or now >= reset.expires_at:
        raise AccountError("reset_invalid", "this reset link is not valid: it was used, or it expired")
    # Conditional, so two uses of one link at once cannot both succeed.
    used = session.execute(update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
                           .values(used_at=now)).rowcount
    if not used:
        raise AccountError("reset_invalid", "this reset link is not valid: it was used, or it expired")
    user = session.get(User, reset.user_id)
    set_password(user, password)
    return user
