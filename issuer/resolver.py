"""Our own issuers' DIDs resolve from our database: no HTTP to ourselves, and a key rotation or
a new issuer is visible at once. Every other DID goes to the fallback resolver."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from issuer.keystore import verification_methods
from issuer.models import Issuer
from keys import did_web_document


class OwnIssuerResolver:
    def __init__(self, sessions: sessionmaker[Session], fallback):
        self._sessions = sessions
        self._fallback = fallback

    def bounded(self, fetch_json) -> OwnIssuerResolver:
        bounded = getattr(self._fallback, "bounded", None)
        return OwnIssuerResolver(self._sessions, bounded(fetch_json) if bounded else self._fallback)

    def resolve(self, did: str) -> dict:
        with self._sessions() as session:
            issuer = session.scalar(select(Issuer).where(Issuer.did == did, Issuer.did_method == "web"))
            if issuer is not None:
                return did_web_document(did, verification_methods(session, issuer))
        return self._fallback.resolve(did)
