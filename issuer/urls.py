"""Our public identifiers: dereferenceable URLs under the configured base URL."""

from __future__ import annotations

from dataclasses import dataclass

from keys import did_web_for


@dataclass(frozen=True)
class Urls:
    base_url: str

    def __post_init__(self):
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def credential(self, credential_id: str) -> str:
        return f"{self.base_url}/credentials/{credential_id}"

    def manage(self, token: str) -> str:
        """The earner's private management link (the token is its only secret)."""
        return f"{self.base_url}/manage/{token}"

    def achievement(self, achievement_id: str) -> str:
        return f"{self.base_url}/achievements/{achievement_id}"

    def achievement_image(self, achievement_id: str) -> str:
        """The image the issuer uploaded for the achievement."""
        return f"{self.base_url}/achievements/{achievement_id}/image"

    def status_list(self, list_id: str) -> str:
        return f"{self.base_url}/status/{list_id}"

    def issuer_profile(self, slug: str) -> str:
        return f"{self.base_url}/issuers/{slug}"

    def did_document(self, slug: str) -> str:
        return f"{self.base_url}/issuers/{slug}/did.json"

    def issuer_did_web(self, slug: str) -> str:
        return did_web_for(self.base_url, "issuers", slug)
