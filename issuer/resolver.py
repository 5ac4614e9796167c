"""Our own documents come from our database: no HTTP to ourselves, and a key rotation, a new
issuer or a status change is visible at once. Every other DID or URL goes the usual way."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from issuer.keystore import verification_methods
from issuer.db import transaction
from issuer.models import Issuer, StatusList, is_id
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


class OwnStatusLists:
    """`local_documents` for the verifier: the signed status lists we publish at /status/<id>."""

    def __init__(self, services):
        self._services = services
        self._prefix = services.urls.status_list("")

    def __call__(self, url: str) -> dict | None:
        if not url.startswith(self._prefix):
            return None
        list_id = url[len(self._prefix):]
        if not is_id(list_id):
            return None
        with self._services.sessionmaker() as session, transaction(session):
            status_list = session.get(StatusList, list_id)
            if status_list is None:
                return None
            return self._services.status_lists(session).publication(status_list).document
