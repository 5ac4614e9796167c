"""What varies between deployments and tests, built once by the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.orm import Session, sessionmaker

from issuer.clr import AssociationSource, ClrIssuance
from issuer.issuance import Issuance
from issuer.keystore import KeyStore
from issuer.pathways import components as pathway_components
from issuer.statuslists import ServedEtags, StatusListPolicy, StatusLists
from issuer.urls import Urls
from keys import KeyEncryptionKey

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Services:
    sessionmaker: sessionmaker[Session]
    key_encryption_key: KeyEncryptionKey
    document_loader: Callable
    urls: Urls
    clock: Clock = utc_now
    status_list_policy: StatusListPolicy = StatusListPolicy()
    # This process's last answers of GET /status/<id>, so a matching If-None-Match needs no database.
    served_status_lists: ServedEtags = field(default_factory=ServedEtags)
    # Where a Comprehensive Learner Record finds which achievement is made of which: a pathway's
    # components (issuer.clr.no_associations: none).
    clr_associations: AssociationSource = pathway_components

    def keystore(self, session: Session) -> KeyStore:
        return KeyStore(session, self.key_encryption_key)

    def status_lists(self, session: Session) -> StatusLists:
        return StatusLists(session, self.keystore(session), document_loader=self.document_loader, urls=self.urls,
                           clock=self.clock, policy=self.status_list_policy, served=self.served_status_lists)

    def issuance(self, session: Session) -> Issuance:
        return Issuance(
            session, self.keystore(session), document_loader=self.document_loader, urls=self.urls, clock=self.clock,
            status_lists=self.status_lists(session),
        )

    def clr(self, session: Session) -> ClrIssuance:
        return ClrIssuance(session, self.keystore(session), document_loader=self.document_loader, urls=self.urls,
                           clock=self.clock, association_source=self.clr_associations)
