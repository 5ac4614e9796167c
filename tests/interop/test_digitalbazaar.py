"""Independent verification: what we issue, checked by an implementation nobody here wrote.

Credentials are issued through our API; then tests/interop/verify.mjs verifies them with the
Digital Bazaar JavaScript stack (@digitalbazaar/vc with the eddsa-rdfc-2022 and ecdsa-rdfc-2019
cryptosuites, vc-bitstring-status-list, did-method-key; `jose` for VC-JWTs; a PNG chunk reader and
@xmldom/xmldom for baked images). It gets only what a verifier elsewhere would fetch: our bundled
contexts, the issuer's DID document at the URL did:web resolves to, and the status list credentials.
A tampered copy of each form must be rejected by it as well.

Needs Node (18 or later) and `npm ci` in tests/interop once (`.ci/run` does both); without them the
tests fail, never skip.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dataintegrity import bundled_document_loader
from dataintegrity.documentloader import BUNDLED_CONTEXT_URLS
from tests.conftest import ACHIEVEMENT, ISSUER, Clock, result_body

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "verify.mjs"
BASE = "https://badges.test"


@pytest.fixture
def clock() -> Clock:
    # The JavaScript libraries check a status list credential's validity against the real time
    # (vc-bitstring-status-list passes no `now`), so our clock runs at the real time here.
    return Clock(datetime.now(timezone.utc).replace(microsecond=0))


def node_command() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the independent verification needs Node 18+ (`.ci/run` installs it)")
    if not (HERE / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        pytest.fail(f"the JavaScript packages are not installed: run `npm ci` in {HERE}")
    return [node, str(SCRIPT)]


class Outside:
    """The Digital Bazaar verifier, fed with what our public endpoints serve (through the test
    client, as a verifier elsewhere would fetch them over HTTPS)."""

    def __init__(self, client, clock):
        self.client = client
        self.clock = clock
        loader = bundled_document_loader()
        self.contexts = {url: loader(url)["document"] for url in BUNDLED_CONTEXT_URLS}

    def fetch(self, url: str) -> dict:
        assert url.startswith(BASE + "/"), url
        response = self.client.get(url.removeprefix(BASE), headers={"Accept": "application/json"})
        assert response.status_code == 200, (url, response.status_code)
        return response.json

    def documents(self, credentials: list[dict], extra: dict | None = None) -> dict:
        """Contexts, the DID documents of did:web issuers and the status lists the credentials name."""
        documents = dict(self.contexts)
        for credential in credentials:
            issuer = credential["issuer"]["id"] if isinstance(credential["issuer"], dict) else credential["issuer"]
            if issuer.startswith("did:web:"):
                url = BASE + "/" + "/".join(issuer.split(":")[3:]) + "/did.json"
                documents[url] = self.fetch(url)
            entries = credential.get("credentialStatus") or []
            for entry in entries if isinstance(entries, list) else [entries]:
                documents[entry["statusListCredential"]] = self.fetch(entry["statusListCredential"])
        documents.update(extra or {})
        return documents

    def verify(self, items: list[dict], documents: dict) -> dict[str, dict]:
        """{name: result} for `items` ({"name", "form", "data", "status"?})."""
        payload = {"now": self.clock().isoformat().replace("+00:00", "Z"), "documents": documents, "items": items}
        completed = subprocess.run(node_command(), input=json.dumps(payload), capture_output=True, text=True,
                                   timeout=120, cwd=HERE, check=False)
        assert completed.returncode == 0, completed.stderr
        results = json.loads(completed.stdout)["results"]
        return {result["name"]: result for result in results}


@pytest.fixture
def outside(client, clock) -> Outside:
    return Outside(client, clock)


# key type -> the cryptosuite its credentials and status lists are signed with
KEY_TYPES = {"Ed25519": "eddsa-rdfc-2022", "P-256": "ecdsa-rdfc-2019", "P-384": "ecdsa-rdfc-2019"}


@pytest.fixture(params=list(KEY_TYPES))
def key_type(request) -> str:
    return request.param


@pytest.fixture
def issuer(api, key_type):
    """The conftest issuer, of each key type in turn (so every test here runs for each)."""
    body = ISSUER if key_type == "Ed25519" else {**ISSUER, "key_type": key_type}
    response = api.post("/api/v1/issuers", json=body)
    assert response.status_code == 201, response.json
    return response.json


def issue(api, achievement, external_id: str = "attempt-1", **extra) -> dict:
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id, **extra))
    assert response.status_code == 201, response.json
    return response.json["credential"]


def tampered(credential: dict) -> dict:
    """The credential with its achievement renamed: a change the proof covers."""
    copied = copy.deepcopy(credential)
    copied["credentialSubject"]["achievement"]["name"] = "Python Mastery"
    return copied


def assert_verified(result: dict) -> None:
    assert result["verified"] is True, result["errors"]
    assert result["errors"] == []


def assert_rejected(result: dict, *words: str) -> None:
    assert result["verified"] is False, result
    text = " ".join(result["errors"]).lower()
    assert any(word in text for word in words), result["errors"]


# --- eddsa-rdfc-2022 credentials -------------------------------------------------------------------

def test_did_web_credential_verifies_with_its_status_and_tampered_copy_fails(api, achievement, outside, key_type):
    credential = issue(api, achievement)
    assert credential["issuer"]["id"].startswith("did:web:")
    assert credential["proof"]["cryptosuite"] == KEY_TYPES[key_type]
    results = outside.verify(
        [{"name": "issued", "form": "json", "data": credential},
         {"name": "tampered", "form": "json", "data": tampered(credential)}],
        outside.documents([credential]),
    )
    assert_verified(results["issued"])
    assert results["issued"]["credential_id"] == credential["id"]
    # Every status entry was read from its list, and no bit is set.
    purposes = {entry["statusPurpose"] for entry in credential["credentialStatus"]} \
        if isinstance(credential["credentialStatus"], list) else {credential["credentialStatus"]["statusPurpose"]}
    assert results["issued"]["status"] == {purpose: False for purpose in purposes}
    assert_rejected(results["tampered"], "invalid signature")


def test_script_loads_nothing_it_was_not_given(api, achievement, outside):
    """The script's document loader has no network: without the DID document, or without a
    status list, the credential cannot verify; an unknown context is refused."""
    credential = issue(api, achievement)
    documents = outside.documents([credential])
    did_document_url = next(url for url in documents if url.endswith("/did.json"))
    status_url = status_entries(credential)[0]["statusListCredential"]
    unknown_context = {**credential, "@context": [*credential["@context"], "https://example.org/unknown/v1"]}
    without_did = {url: doc for url, doc in documents.items() if url != did_document_url}
    without_list = {url: doc for url, doc in documents.items() if url != status_url}
    assert_rejected(outside.verify([{"name": "c", "form": "json", "data": credential}], without_did)["c"],
                    "no did document was given")
    assert_rejected(outside.verify([{"name": "c", "form": "json", "data": credential}], without_list)["c"],
                    "could not load")
    assert_rejected(outside.verify([{"name": "c", "form": "json", "data": unknown_context}], documents)["c"],
                    "refused to load")


def test_did_key_issuer_credential_verifies_offline(api, outside, key_type):
    body = {**ISSUER, "slug": "keyed", "did_method": "key"}
    response = api.post("/api/v1/issuers", json=body if key_type == "Ed25519" else {**body, "key_type": key_type})
    assert response.status_code == 201, response.json
    achievement = api.post("/api/v1/issuers/keyed/achievements", json=ACHIEVEMENT).json
    credential = issue(api, achievement)
    assert credential["issuer"]["id"].startswith("did:key:")
    assert credential["proof"]["cryptosuite"] == KEY_TYPES[key_type]
    documents = outside.documents([credential])
    # did:key is resolved by @digitalbazaar/did-method-key itself: no DID document is handed in.
    assert not any(url.endswith("/did.json") for url in documents)
    results = outside.verify(
        [{"name": "issued", "form": "json", "data": credential},
         {"name": "tampered", "form": "json", "data": tampered(credential)}],
        documents,
    )
    assert_verified(results["issued"])
    assert_rejected(results["tampered"], "invalid signature")


def test_credential_signed_by_a_rotated_key_still_verifies(api, achievement, issuer, outside):
    before = issue(api, achievement, "attempt-1")
    assert api.post(f"/api/v1/issuers/{issuer['slug']}/keys/rotate").status_code in (200, 201)
    after = issue(api, achievement, "attempt-2", email="grace@example.org")
    assert before["proof"]["verificationMethod"] != after["proof"]["verificationMethod"]
    results = outside.verify(
        [{"name": "before", "form": "json", "data": before}, {"name": "after", "form": "json", "data": after}],
        outside.documents([before, after]),
    )
    assert_verified(results["before"])
    assert_verified(results["after"])


def test_vc_api_credential_verifies(api, issuer, outside):
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer["id"],
        "credentialSubject": {"id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"},
    }
    response = api.post("/credentials/issue", json={"credential": unsigned})
    assert response.status_code == 201, response.json
    credential = response.json["verifiableCredential"]
    results = outside.verify(
        [{"name": "issued", "form": "json", "data": credential},
         {"name": "tampered", "form": "json",
          "data": {**credential, "credentialSubject": {"id": "did:example:mallory"}}}],
        outside.documents([credential]),
    )
    assert_verified(results["issued"])
    assert_rejected(results["tampered"], "invalid signature")


# --- status lists ----------------------------------------------------------------------------------

def status_entries(credential: dict) -> list[dict]:
    entries = credential["credentialStatus"]
    return entries if isinstance(entries, list) else [entries]


def test_status_list_credentials_verify_and_a_tampered_list_fails(api, achievement, outside):
    credential = issue(api, achievement)
    documents = outside.documents([credential])
    items = []
    for entry in status_entries(credential):
        url = entry["statusListCredential"]
        items.append({"name": url, "form": "json", "data": documents[url]})
    results = outside.verify(items, documents)
    for entry in status_entries(credential):
        assert_verified(results[entry["statusListCredential"]])
        assert documents[entry["statusListCredential"]]["proof"]["cryptosuite"] == credential["proof"]["cryptosuite"]

    # A list whose bits were changed after signing: both the list itself and the credential's
    # status check (which verifies the list before reading it) are rejected.
    url = status_entries(credential)[0]["statusListCredential"]
    forged = copy.deepcopy(documents[url])
    forged["credentialSubject"]["encodedList"] = encoded_list_with_bit(
        forged["credentialSubject"]["encodedList"], int(status_entries(credential)[0]["statusListIndex"]))
    results = outside.verify(
        [{"name": "list", "form": "json", "data": forged},
         {"name": "credential", "form": "json", "data": credential}],
        {**documents, url: forged},
    )
    assert_rejected(results["list"], "invalid signature")
    assert_rejected(results["credential"], "not verified")


def encoded_list_with_bit(encoded: str, index: int) -> str:
    """A Bitstring Status List `encodedList` (multibase base64url, no padding, of GZIP) with the
    bit at `index` set (bit 0 is the most significant bit of the first byte)."""
    assert encoded.startswith("u")
    raw = encoded[1:]
    bits = bytearray(zlib.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), 16 + zlib.MAX_WBITS))
    bits[index // 8] |= 0x80 >> (index % 8)
    packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    gzipped = packer.compress(bytes(bits)) + packer.flush()
    return "u" + base64.urlsafe_b64encode(gzipped).decode("ascii").rstrip("=")


@pytest.mark.parametrize("action, purpose", [("revoke", "revocation"), ("suspend", "suspension")])
def test_status_change_is_seen_by_the_outside_verifier(api, achievement, outside, action, purpose):
    credential = issue(api, achievement)
    if purpose not in {entry["statusPurpose"] for entry in status_entries(credential)}:
        pytest.fail(f"the credential has no {purpose} entry: {credential['credentialStatus']}")
    credential_id = credential["id"].rsplit("/", 1)[1]
    response = api.post(f"/api/v1/credentials/{credential_id}/{action}", json={"reason": "cross-check"})
    assert response.status_code == 200, response.json
    results = outside.verify([{"name": "issued", "form": "json", "data": credential}],
                             outside.documents([credential]))
    result = results["issued"]
    assert result["verified"] is False, result
    assert result["status"].get(purpose) is True, result
    assert any(f"status bit set: {purpose}" in error for error in result["errors"]), result["errors"]


# --- baked images ----------------------------------------------------------------------------------

def download(client, credential: dict, extension: str) -> bytes:
    response = client.get(f"/credentials/{credential['id'].rsplit('/', 1)[1]}/badge.{extension}")
    assert response.status_code == 200
    return response.data


def replace_in_png_itxt(png: bytes, old: bytes, new: bytes) -> bytes:
    """The PNG with `old` replaced by `new` inside its iTXt chunks, their CRCs made right again:
    a forgery that any PNG reader accepts as an image."""
    out, offset = [png[:8]], 8
    while offset < len(png):
        length, kind = struct.unpack_from(">I4s", png, offset)
        body = png[offset + 8:offset + 8 + length]
        if kind == b"iTXt":
            body = body.replace(old, new)
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)))
        offset += 12 + length
    return b"".join(out)


def test_baked_png_and_svg_verify_and_tampered_images_fail(api, achievement, client, outside):
    credential = issue(api, achievement)
    png = download(client, credential, "png")
    svg = download(client, credential, "svg")
    # The achievement renamed inside the baked credential (the SVG's visible text changes too).
    forged_png = replace_in_png_itxt(png, b"Python Basics", b"Python Mastery")
    assert forged_png != png
    forged_svg = svg.replace(b"Python Basics", b"Python Mastery")
    assert forged_svg != svg
    b64 = lambda data: base64.b64encode(data).decode("ascii")  # noqa: E731
    results = outside.verify(
        [{"name": "png", "form": "png", "data": b64(png)}, {"name": "svg", "form": "svg", "data": b64(svg)},
         {"name": "forged png", "form": "png", "data": b64(forged_png)},
         {"name": "forged svg", "form": "svg", "data": b64(forged_svg)}],
        outside.documents([credential]),
    )
    for name in ("png", "svg"):
        assert results[name]["form"] == f"{name}+json"
        assert_verified(results[name])
        assert results[name]["credential_id"] == credential["id"]
    assert_rejected(results["forged png"], "invalid signature")
    assert_rejected(results["forged svg"], "invalid signature")


# --- every issuing route ---------------------------------------------------------------------------

def test_renewed_reissued_and_batch_credentials_verify(api, achievement, client, outside):
    first = issue(api, achievement, "attempt-1")
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body("attempt-2", score=90))
    assert response.status_code == 201 and response.json["renews"] == first["id"].rsplit("/", 1)[1], response.json
    renewal = response.json["credential"]
    results = outside.verify([{"name": "first", "form": "json", "data": first},
                              {"name": "renewal", "form": "json", "data": renewal}],
                             outside.documents([first, renewal]))
    assert_verified(results["first"])
    assert_verified(results["renewal"])

    response = api.post(f"/api/v1/credentials/{renewal['id'].rsplit('/', 1)[1]}/reissue",
                        json={"reason": "score corrected", "score": 95})
    assert response.status_code == 201, response.json
    reissued = response.json["credential"]
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results/batch",
                        json={"results": [result_body("batch-1", email="grace@example.org")]})
    assert response.status_code == 200, response.json
    downloaded = client.get(f"/credentials/{response.json['items'][0]['credential_id']}/credential.json")
    assert downloaded.status_code == 200
    batched = json.loads(downloaded.data)
    results = outside.verify([{"name": "reissued", "form": "json", "data": reissued},
                              {"name": "batch", "form": "json", "data": batched},
                              {"name": "renewal", "form": "json", "data": renewal}],
                             outside.documents([reissued, batched, renewal]))
    assert_verified(results["reissued"])
    assert_verified(results["batch"])
    # The reissue revoked the credential it replaced ("superseded"): its revocation bit is set now.
    assert results["renewal"]["verified"] is False
    assert results["renewal"]["status"].get("revocation") is True, results["renewal"]


# --- VC-JWT ----------------------------------------------------------------------------------------

JWT_ALGORITHMS = {"Ed25519": "EdDSA", "P-256": "ES256", "P-384": "ES384"}


def jwt_parts(token: str) -> tuple[dict, dict]:
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    header, payload, _ = token.split(".")
    return decode(header), decode(payload)


def tampered_jwt(token: str) -> str:
    """The JWT with its payload's achievement renamed and the original signature kept."""
    header, payload, signature = token.split(".")
    _, claims = jwt_parts(token)
    claims["credentialSubject"]["achievement"]["name"] = "Python Mastery"
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode("ascii").rstrip("=")
    return f"{header}.{body}.{signature}"


@pytest.fixture
def jwt_achievement(api, issuer) -> dict:
    response = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements",
                        json={**ACHIEVEMENT, "credential_format": "jwt"})
    assert response.status_code == 201, response.json
    return response.json


def test_vc_jwt_verifies_with_jose_and_its_status_and_tampered_copy_fails(api, jwt_achievement, client, outside,
                                                                          key_type):
    response = api.post(f"/api/v1/achievements/{jwt_achievement['id']}/results", json=result_body())
    assert response.status_code == 201 and response.json["credential_format"] == "jwt", response.json
    token = response.json["credential"]
    header, claims = jwt_parts(token)
    assert header["alg"] == JWT_ALGORITHMS[key_type]
    # The same credential, as a JSON-LD one served as a JWT on demand.
    ldp = issue(api, jwt_achievement, "attempt-2", email="grace@example.org",
                credential_format="ldp")
    served = client.get(f"/credentials/{ldp['id'].rsplit('/', 1)[1]}", headers={"Accept": "application/vc+jwt"})
    assert served.status_code == 200
    on_demand = served.get_data(as_text=True)
    downloaded = client.get(f"/credentials/{response.json['credential_id']}/credential.jwt")
    assert downloaded.status_code == 200
    results = outside.verify(
        [{"name": "issued", "form": "jwt", "data": token},
         {"name": "on demand", "form": "jwt", "data": on_demand},
         {"name": "download", "form": "jwt", "data": downloaded.get_data(as_text=True).strip()},
         {"name": "tampered", "form": "jwt", "data": tampered_jwt(token)}],
        outside.documents([claims, ldp]),
    )
    assert_verified(results["issued"])
    assert results["issued"]["credential_id"] == claims["id"]
    assert results["issued"]["status"] and not any(results["issued"]["status"].values())
    assert_verified(results["on demand"])
    assert_verified(results["download"])
    assert_rejected(results["tampered"], "signature verification failed")

    # Revoked: the JWT's status entry now reads as set.
    response = api.post(f"/api/v1/credentials/{claims['id'].rsplit('/', 1)[1]}/revoke", json={"reason": "cross-check"})
    assert response.status_code == 200, response.json
    results = outside.verify([{"name": "issued", "form": "jwt", "data": token}], outside.documents([claims]))
    assert results["issued"]["verified"] is False
    assert results["issued"]["status"].get("revocation") is True, results["issued"]


def test_vc_jwt_baked_into_png_and_svg_verifies(api, jwt_achievement, client, outside):
    response = api.post(f"/api/v1/achievements/{jwt_achievement['id']}/results", json=result_body())
    assert response.status_code == 201, response.json
    token = response.json["credential"]
    _, claims = jwt_parts(token)
    credential_id = response.json["credential_id"]
    png = client.get(f"/credentials/{credential_id}/badge.png").data
    svg = client.get(f"/credentials/{credential_id}/badge.svg").data
    forged = tampered_jwt(token)
    forged_png = replace_in_png_itxt(png, token.encode(), forged.encode())
    forged_svg = svg.replace(token.encode(), forged.encode())
    assert forged_png != png and forged_svg != svg
    b64 = lambda data: base64.b64encode(data).decode("ascii")  # noqa: E731
    results = outside.verify(
        [{"name": "png", "form": "png", "data": b64(png)}, {"name": "svg", "form": "svg", "data": b64(svg)},
         {"name": "forged png", "form": "png", "data": b64(forged_png)},
         {"name": "forged svg", "form": "svg", "data": b64(forged_svg)}],
        outside.documents([claims]),
    )
    for name in ("png", "svg"):
        assert results[name]["form"] == f"{name}+jwt"
        assert_verified(results[name])
        assert results[name]["credential_id"] == claims["id"]
    assert_rejected(results["forged png"], "signature verification failed")
    assert_rejected(results["forged svg"], "signature verification failed")


def test_did_key_issuer_vc_jwt_verifies(api, outside, key_type):
    body = {**ISSUER, "slug": "keyed", "did_method": "key"}
    response = api.post("/api/v1/issuers", json=body if key_type == "Ed25519" else {**body, "key_type": key_type})
    assert response.status_code == 201, response.json
    achievement = api.post("/api/v1/issuers/keyed/achievements", json={**ACHIEVEMENT, "credential_format": "jwt"}).json
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body())
    assert response.status_code == 201, response.json
    token = response.json["credential"]
    _, claims = jwt_parts(token)
    assert claims["iss"].startswith("did:key:")
    results = outside.verify([{"name": "issued", "form": "jwt", "data": token},
                              {"name": "tampered", "form": "jwt", "data": tampered_jwt(token)}],
                             outside.documents([claims]))
    assert_verified(results["issued"])
    assert_rejected(results["tampered"], "signature verification failed")
