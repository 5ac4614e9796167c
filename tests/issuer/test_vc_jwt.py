"""The Open Badges 3.0 VC-JWT form, for every key type: asked for by the achievement or by the
result request, answered as issued, served with Accept: application/vc+jwt, baked into PNG and
SVG, verified by our verifier and by PyJWT alone with the key taken from the DID document."""

import base64
import copy
import json
import re
from datetime import datetime, timezone

import base58
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.conftest import ACHIEVEMENT, ISSUER, result_body

KEY_TYPES = {"Ed25519": "EdDSA", "P-256": "ES256", "P-384": "ES384"}
JWT_TEXT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
RECIPIENT_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def setup(api, key_type="Ed25519", credential_format=None, did_method=None):
    body = {**ISSUER, "key_type": key_type}
    if did_method:
        body["did_method"] = did_method
    issuer = api.post("/api/v1/issuers", json=body)
    assert issuer.status_code == 201, issuer.json
    achievement_body = {**ACHIEVEMENT}
    if credential_format:
        achievement_body["credential_format"] = credential_format
    achievement = api.post("/api/v1/issuers/acme/achievements", json=achievement_body)
    assert achievement.status_code == 201, achievement.json
    return issuer.json, achievement.json


def issue(api, achievement, external_id="attempt-1", **extra):
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body(external_id, **extra))
    assert response.status_code == 201, response.json
    return response.json


def segments(token):
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def key_from_did_document(client, kid):
    """The public key `kid` names, read from the issuer's DID document with base58 and
    cryptography only (Multikey: multicodec ed25519-pub 0xed01, p256-pub 0x8024, p384-pub 0x8124)."""
    did = kid.split("#", 1)[0]
    document = client.get(f"/issuers/{did.rsplit(':', 1)[1]}/did.json").json
    assert kid in document["assertionMethod"]
    [method] = [m for m in document["verificationMethod"] if m["id"] == kid]
    raw = base58.b58decode(method["publicKeyMultibase"][1:])
    header, key = raw[:2], raw[2:]
    if header == b"\xed\x01":
        return ed25519.Ed25519PublicKey.from_public_bytes(key)
    curve = {b"\x80\x24": ec.SECP256R1(), b"\x81\x24": ec.SECP384R1()}[header]
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, key)


def pyjwt_claims(client, token, alg):
    header = jwt.get_unverified_header(token)
    key = key_from_did_document(client, header["kid"])
    # PyJWT checks exp/nbf against the real clock; the test's clock is fixed, so those claims are
    # compared to the credential's dates by the caller instead.
    return jwt.decode(token, key, algorithms=[alg], options={"verify_exp": False, "verify_nbf": False})


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
def test_achievement_asks_for_jwt(api, client, outside_verifier, key_type):
    alg = KEY_TYPES[key_type]
    issuer, achievement = setup(api, key_type, credential_format="jwt")
    assert achievement["credential_format"] == "jwt"
    answer = issue(api, achievement)
    token = answer["credential"]
    assert answer["credential_format"] == "jwt" and JWT_TEXT.match(token)

    header, payload = segments(token)
    assert header == {"alg": alg, "typ": "JWT", "kid": f"{issuer['id']}#key-1"}
    credential_url = f"https://badges.test/credentials/{answer['credential_id']}"
    assert payload["iss"] == issuer["id"] and payload["jti"] == credential_url == payload["id"]
    assert payload["nbf"] == int(CREATED.timestamp()) and payload["validFrom"] == "2026-11-25T12:00:00Z"
    assert payload["exp"] == int(datetime(2027, 11, 25, 12, 0, tzinfo=timezone.utc).timestamp())
    assert "sub" not in payload  # the subject is a hashed email identifier, with no id
    assert "proof" not in payload and "OpenBadgeCredential" in payload["type"]

    assert pyjwt_claims(client, token, alg) == payload
    report = outside_verifier.verify_input(token)
    assert report.verified, report.to_dict()

    # What was issued is what is served for Accept: application/vc+jwt.
    served = client.get(f"/credentials/{answer['credential_id']}", headers={"Accept": "application/vc+jwt"})
    assert served.status_code == 200 and served.mimetype == "application/vc+jwt"
    assert served.get_data(as_text=True) == token and "Accept" in served.headers["Vary"]
    # The JSON-LD form of the same credential is still there for JSON-LD clients.
    document = client.get(f"/credentials/{answer['credential_id']}", headers={"Accept": "application/ld+json"}).json
    assert document["id"] == credential_url and document["proof"]["verificationMethod"] == header["kid"]


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
def test_tampered_jwt_is_rejected(api, client, outside_verifier, key_type):
    alg = KEY_TYPES[key_type]
    _, achievement = setup(api, key_type, credential_format="jwt")
    token = issue(api, achievement)["credential"]
    header, payload = segments(token)
    payload["name"] = "Advanced Python"
    forged_payload = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    first, _, signature = token.split(".")
    forged = f"{first}.{forged_payload}.{signature}"

    report = outside_verifier.verify_input(forged)
    assert not report.verified
    assert [(c.check, c.code) for c in report.checks if c.status == "failed"] == [("proof", "invalid_signature")]
    with pytest.raises(jwt.InvalidSignatureError):
        pyjwt_claims(client, forged, alg)
    # A signature of another key kind's length is refused too.
    report = outside_verifier.verify_input(f"{first}.{token.split('.')[1]}.{signature[:-4]}AAAA")
    assert not report.verified


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
@pytest.mark.parametrize("extension", ["png", "svg"])
def test_jwt_baked_into_images(api, client, outside_verifier, key_type, extension):
    _, achievement = setup(api, key_type, credential_format="jwt")
    answer = issue(api, achievement)
    token = answer["credential"]
    image = client.get(f"/credentials/{answer['credential_id']}/badge.{extension}")
    assert image.status_code == 200
    data = image.get_data()
    if extension == "png":
        assert b"openbadgecredential\x00\x00\x00\x00\x00" + token.encode() in data
    else:
        assert f'<openbadges:credential verify="{token}">'.encode() in data
    report = outside_verifier.verify_input(data, filename=f"badge.{extension}")
    assert report.verified, report.to_dict()


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
def test_request_asks_for_jwt_and_the_answer_repeats(api, client, outside_verifier, key_type):
    _, achievement = setup(api, key_type)  # the achievement issues JSON-LD
    assert achievement["credential_format"] == "ldp"
    ldp = issue(api, achievement, "ldp-1")
    assert isinstance(ldp["credential"], dict) and ldp["credential_format"] == "ldp"

    answer = issue(api, achievement, "jwt-1", email=None, credential_format="jwt")
    token = answer["credential"]
    assert JWT_TEXT.match(token)
    _, payload = segments(token)
    assert payload["sub"] == RECIPIENT_DID == payload["credentialSubject"]["id"]
    report = outside_verifier.verify_input(token)
    assert report.verified, report.to_dict()
    # The same external_id again repeats the first answer, JWT included.
    again = api.post(f"/api/v1/achievements/{achievement['id']}/results",
                     json=result_body("jwt-1", email=None, credential_format="jwt"))
    assert again.status_code == 201 and again.json["credential"] == token
    view = api.get(f"/api/v1/credentials/{answer['credential_id']}").json
    assert view["credential_format"] == "jwt" and view["jwt"] == token


def test_request_can_ask_for_json_ld_from_a_jwt_achievement(api):
    _, achievement = setup(api, credential_format="jwt")
    answer = issue(api, achievement, credential_format="ldp")
    assert isinstance(answer["credential"], dict) and answer["credential"]["proof"]["type"] == "DataIntegrityProof"


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
def test_json_ld_credential_served_as_jwt_on_demand(api, client, outside_verifier, key_type):
    alg = KEY_TYPES[key_type]
    issuer, achievement = setup(api, key_type)
    answer = issue(api, achievement)
    served = client.get(f"/credentials/{answer['credential_id']}", headers={"Accept": "application/vc+jwt"})
    assert served.status_code == 200 and served.mimetype == "application/vc+jwt"
    token = served.get_data(as_text=True)
    header, payload = segments(token)
    assert header["alg"] == alg and header["kid"] == f"{issuer['id']}#key-1"
    without_proof = {k: v for k, v in answer["credential"].items() if k != "proof"}
    assert {k: v for k, v in payload.items() if k not in ("iss", "jti", "nbf", "exp")} == without_proof
    assert pyjwt_claims(client, token, alg)["jti"] == answer["credential"]["id"]
    report = outside_verifier.verify_input(token)
    assert report.verified, report.to_dict()
    # A wildcard or a browser never gets the JWT.
    for accept in ("*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/ld+json"):
        other = client.get(f"/credentials/{answer['credential_id']}", headers={"Accept": accept})
        assert other.mimetype != "application/vc+jwt", accept


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
def test_jwt_issued_before_rotation_still_verifies(api, client, outside_verifier, clock, key_type):
    alg = KEY_TYPES[key_type]
    issuer, achievement = setup(api, key_type, credential_format="jwt")
    before = issue(api, achievement, "before")["credential"]
    clock.advance(days=1)
    assert api.post("/api/v1/issuers/acme/keys/rotate").status_code == 200
    after = issue(api, achievement, "after")["credential"]
    assert segments(after)[0]["kid"] == f"{issuer['id']}#key-2"
    for token in (before, after):
        pyjwt_claims(client, token, alg)
        report = outside_verifier.verify_input(token)
        assert report.verified, report.to_dict()


@pytest.mark.parametrize("key_type", ["P-256", "P-384"])
def test_did_key_issuer_jwt(api, outside_verifier, key_type):
    issuer, achievement = setup(api, key_type, credential_format="jwt", did_method="key")
    token = issue(api, achievement)["credential"]
    header, payload = segments(token)
    assert header["kid"].startswith(issuer["id"] + "#") and payload["iss"] == issuer["id"]
    report = outside_verifier.verify_input(token)
    assert report.verified, report.to_dict()


def test_reissue_keeps_the_jwt_form(api, outside_verifier):
    _, achievement = setup(api, "P-256", credential_format="jwt")
    answer = issue(api, achievement)
    reissued = api.post(f"/api/v1/credentials/{answer['credential_id']}/reissue", json={"reason": "typo", "score": 90})
    assert reissued.status_code == 201, reissued.json
    token = reissued.json["credential"]
    assert JWT_TEXT.match(token) and segments(token)[1]["credentialSubject"]["result"][0]["value"] == "90"
    report = outside_verifier.verify_input(token)
    assert report.verified, report.to_dict()


def test_batch_items_ask_for_jwt(api, outside_verifier):
    _, achievement = setup(api, "P-384")
    response = api.post(f"/api/v1/achievements/{achievement['id']}/results/batch", json={"results": [
        result_body("b-1", credential_format="jwt"), result_body("b-2", email="grace@example.org")]})
    assert response.status_code == 200, response.json
    first, second = response.json["items"]
    assert first["credential_format"] == "jwt" and JWT_TEXT.match(first["credential"])
    assert second["credential_format"] == "ldp" and isinstance(second["credential"], dict)
    report = outside_verifier.verify_input(first["credential"])
    assert report.verified, report.to_dict()


@pytest.mark.parametrize("where", ["achievement", "result"])
def test_unknown_format_is_refused(api, where):
    _, achievement = setup(api)
    if where == "achievement":
        response = api.post("/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "credential_format": "cbor"})
    else:
        response = api.post(f"/api/v1/achievements/{achievement['id']}/results",
                            json=result_body(credential_format="sd-jwt"))
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed" and "credential_format" in response.json["errors"]


@pytest.mark.parametrize("credential_format", ["ldp", "jwt"])
def test_jwt_download_and_page_link(api, client, outside_verifier, credential_format):
    _, achievement = setup(api, "P-256", credential_format=credential_format)
    answer = issue(api, achievement)
    download = client.get(f"/credentials/{answer['credential_id']}/credential.jwt")
    assert download.status_code == 200 and download.mimetype == "application/vc+jwt"
    assert download.headers["Content-Disposition"] == f'attachment; filename="credential-{answer["credential_id"]}.jwt"'
    token = download.get_data(as_text=True)
    if credential_format == "jwt":
        assert token == answer["credential"]
    report = outside_verifier.verify_input(token)
    assert report.verified, report.to_dict()
    page = client.get(f"/credentials/{answer['credential_id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'href="/credentials/{answer["credential_id"]}/credential.jwt"' in page
    assert client.get("/credentials/00000000-0000-4000-8000-000000000000/credential.jwt").status_code == 404


def test_hidden_credential_has_no_public_jwt(api, client):
    """A credential whose page is not public answers its JWT forms exactly as a missing one."""
    response = api.post("/api/v1/issuers", json={**ISSUER, "credentials_public": False})
    assert response.status_code == 201, response.json
    achievement = api.post("/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "credential_format": "jwt"}).json
    answer = issue(api, achievement)
    for path, headers in ((f"/credentials/{answer['credential_id']}", {"Accept": "application/vc+jwt"}),
                          (f"/credentials/{answer['credential_id']}/credential.jwt", {})):
        hidden = client.get(path, headers=headers)
        assert hidden.status_code == 404 and hidden.json["code"] == "credential_not_found"
