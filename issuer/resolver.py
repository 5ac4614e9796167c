"""Our own documents come from our database: no HTTP to ourselves, and a key rotation, a new
issuer or a status change is visible at once. Every other DID or URL goes the usual way.

Both are read at every verification, each with one plain statement on a pooled connection (no
ORM session): nothing is cached here, so another node's key rotation or revocation is seen by the
very next verification.
"""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, select

from issuer.db import PlainRead, transaction
from issuer.keystore import WebDidKeys
from issuer.models import StatusList, is_id
from issuer.statuslists import published_is_current
from keys import did_web_document


class OwnIssuerResolver:
    def __init__(self, keys: WebDidKeys, fallback):
        self._keys = keys
        self._fallback = fallback

    @classmethod
    def of(cls, engine: Engine, fallback) -> OwnIssuerResolver:
        return cls(WebDidKeys(engine), fallback)

    def bounded(self, fetch_json) -> OwnIssuerResolver:
        bounded = getattr(self._fallback, "bounded", None)
        return OwnIssuerResolver(self._keys, bounded(fetch_json) if bounded else self._fallback)

    def resolve(self, did: str) -> dict:
        methods = self._keys(did)
        if methods is not None:
            return did_web_document(did, methods)
        return self._fallback.resolve(did)


_PUBLISHED = select(StatusList.version, StatusList.published_version, StatusList.published_until,
                    StatusList.published_document).where(StatusList.id == bindparam("id"))


class OwnStatusLists:
    """`local_documents` for the verifier: the signed status lists we publish at /status/<id>."""

    def __init__(self, services):
        self._services = services
        self._published = PlainRead(services.sessionmaker.kw["bind"], _PUBLISHED)
        self._prefix = services.urls.status_list("")

    def __call__(self, url: str) -> dict | None:
        if not url.startswith(self._prefix):
            return None
        list_id = url[len(self._prefix):]
        if not is_id(list_id):
            return None
        stored = self._published.first(id=list_id)
        if stored is None:
            return None
        if published_is_current(stored, self._services.clock(), self._services.status_list_policy):
            return stored.published_document
        # Changed since it was last signed, or about to lapse: signed again, as /status/<id> does.
        with self._services.sessionmaker() as session, transaction(session):
            status_list = session.get(StatusList, list_id)
            return self._services.status_lists(session).publication(status_list).document
