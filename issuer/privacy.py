"""What of a credential the public may see. The signed credential never holds an email; its page
shows the earner's name only when the earner chose one, and a hidden page is not there for anyone
but its earner (the signed credential keeps verifying wherever it was shared)."""

from __future__ import annotations

from issuer.models import Credential


def is_public(credential: Credential) -> bool:
    """The earner's choice, else the issuer's default."""
    return credential.public if credential.public is not None else credential.issuer.credentials_public


def display_name(credential: Credential) -> str | None:
    """The name the earner chose to show; never the name or email the assessment platform sent."""
    return credential.display_name or None
