"""Agreement with reference validators (issue 11): credentials in shapes other issuers publish,
each signed here in that shape, are accepted as those validators accept them; every such
relaxation is a warning with a stable code in the report, never silent."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime

import jwt

from tests.verifier.support import (
    VC2,
    DidKey,
    check_of,
    library_verifier,
    sign,
    signed_credential,
    status_entry,
    unsigned_credential,
)
from verifier.forms.baked import bake_svg
from verifier.statuslist import MIN_LENGTH_BYTES, set_bit

SVG11 = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
         '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
         '<!-- Created with a drawing program -->\n'
         '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="64" height="64">'
         '<circle cx="32" cy="32" r="30" fill="#c33"/></svg>\n')


def statuses(report) -> dict:
    return {c["check"]: (c["status"], c.get("code")) for c in report.to_dict()["checks"]}


def seconds(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def vc_jwt(signer: DidKey, credential: dict, *, with_sub: bool = True, **claims) -> str:
    """An OB 3.0 VC-JWT (VC 2.0 style: the payload is the credential beside its claims)."""
    payload = {**credential, "iss": credential["issuer"]["id"], "jti": credential["id"],
               "nbf": seconds(credential["validFrom"]), "exp": seconds(credential["validUntil"]), **claims}
    if with_sub:
        payload.setdefault("sub", credential["credentialSubject"]["id"])
    return jwt.encode(payload, signer.private_key, algorithm="EdDSA", headers={"kid": signer.verification_method})


# --- baked SVG with the standard SVG 1.1 DOCTYPE ------------------------------------------------

def test_an_svg_with_the_standard_doctype_and_json_inside_verifies():
    signer = DidKey()
    baked = bake_svg(SVG11, json.dumps(signed_credential(signer)))
    assert "<!DOCTYPE svg PUBLIC" in baked  # the image is left as it was
    report = library_verifier().verify_input(baked.encode(), filename="badge.svg")
    assert report.verified, report.to_dict()
    assert statuses(report)["format"] == ("warning", "svg_doctype_ignored")


def test_an_svg_with_the_standard_doctype_and_a_jwt_in_verify_verifies():
    signer = DidKey()
    token = vc_jwt(signer, unsigned_credential(signer.did))
    baked = bake_svg(SVG11, token)
    assert f'verify="{token}"' in baked
    report = library_verifier().verify_input(baked.encode(), filename="badge.svg")
    assert report.verified, report.to_dict()
    assert statuses(report)["format"] == ("warning", "svg_doctype_ignored")
    tampered = baked.replace(token, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    assert not library_verifier().verify_input(tampered.encode()).verified


# --- a VC-JWT without `sub` -------------------------------------------------------------------

def test_a_jwt_without_sub_verifies_with_a_warning():
    signer = DidKey()
    credential = unsigned_credential(signer.did)
    report = library_verifier().verify_input(vc_jwt(signer, credential, with_sub=False))
    assert report.verified, report.to_dict()
    assert statuses(report)["format"] == ("warning", "jwt_sub_missing")
    # with its sub, no warning; a sub that names someone else still fails
    assert statuses(library_verifier().verify_input(vc_jwt(signer, credential)))["format"] == ("passed", None)
    report = library_verifier().verify_input(vc_jwt(signer, credential, sub="did:example:someone-else"))
    assert not report.verified and statuses(report)["proof"] == ("failed", "jwt_claims_mismatch")


# --- a bare did:key verification method -----------------------------------------------------------

class BareDidKey(DidKey):
    """A signer whose proofs name the did:key alone, without the #fragment."""

    def __init__(self):
        super().__init__()
        self.verification_method = self.did


def test_a_bare_did_key_verification_method_is_resolved_with_a_warning():
    signer = BareDidKey()
    credential = signed_credential(signer)
    assert credential["proof"]["verificationMethod"] == signer.did
    report = library_verifier().verify_credential(credential)
    assert report.verified, report.to_dict()
    assert statuses(report)["issuer"] == ("warning", "verification_method_without_fragment")
    assert statuses(report)["proof"] == ("passed", None)
    tampered = {**credential, "name": "Something else"}
    assert statuses(library_verifier().verify_credential(tampered))["proof"][0] == "failed"
    # another issuer's bare did:key is still not this issuer's key
    other = sign(unsigned_credential(DidKey().did), signer)
    assert statuses(library_verifier().verify_credential(other))["issuer"] == ("failed", "issuer_key_mismatch")


# --- status lists as other issuers publish them -------------------------------------------------------

def encoded(length_bytes: int, *set_indices: int) -> str:
    bits = bytearray(length_bytes)
    for index in set_indices:
        set_bit(bits, index)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode("ascii").rstrip("=")


def list_credential(signer: DidKey, list_id: str, encoded_list: str) -> dict:
    return sign({
        "@context": [VC2], "id": list_id, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": signer.did, "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": f"{list_id}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": encoded_list},
    }, signer)


def with_status(signer: DidKey, url: str, index, name: str = "Teamwork") -> dict:
    entry = status_entry(url, 0)
    entry.update(id=f"{url}#{index}", statusListIndex=index)
    return signed_credential(signer, name=name, credentialStatus=entry)


def test_a_list_served_at_another_url_than_its_id_is_used_with_a_warning(server):
    issuer = DidKey()
    # behind a CDN: served at /cdn/list, its id the issuer's own URL
    server.json("/cdn/list", list_credential(issuer, "https://issuer.example/status/1", encoded(MIN_LENGTH_BYTES, 9)))
    url = server.url("/cdn/list")
    report = library_verifier().verify_credential(with_status(issuer, url, "3"))
    assert report.verified, report.to_dict()
    assert statuses(report)["status"] == ("warning", "status_list_id_mismatch")
    report = library_verifier().verify_credential(with_status(issuer, url, "9", name="Revoked"))
    assert statuses(report)["status"] == ("failed", "revoked")
    # the same list signed by someone else is no evidence about this issuer's credential
    server.json("/cdn/other", list_credential(DidKey(), "https://issuer.example/status/1", encoded(MIN_LENGTH_BYTES)))
    report = library_verifier().verify_credential(with_status(issuer, server.url("/cdn/other"), "3"))
    assert statuses(report)["status"] == ("failed", "status_list_invalid")


def test_a_short_list_gives_the_bits_verdict_and_a_warning(server):
    issuer = DidKey()
    server.json("/short", list_credential(issuer, server.url("/short"), encoded(12_500, 99_999)))  # 100,000 entries
    report = library_verifier().verify_credential(with_status(issuer, server.url("/short"), "17"))
    assert report.verified, report.to_dict()
    assert statuses(report)["status"] == ("warning", "status_list_short")
    report = library_verifier().verify_credential(with_status(issuer, server.url("/short"), "99999", name="Revoked"))
    assert statuses(report)["status"] == ("failed", "revoked")
    assert "status_list_short" not in check_of(report, "status")["message"]  # codes are not messages
    assert "fewer than the spec's minimum" in check_of(report, "status")["message"]


def test_a_numeric_status_list_index_is_read_with_a_warning(server):
    issuer = DidKey()
    server.json("/list", list_credential(issuer, server.url("/list"), encoded(MIN_LENGTH_BYTES, 42)))
    report = library_verifier().verify_credential(with_status(issuer, server.url("/list"), 41))
    assert report.verified, report.to_dict()
    assert statuses(report)["status"] == ("warning", "status_index_numeric")
    report = library_verifier().verify_credential(with_status(issuer, server.url("/list"), 42, name="Revoked"))
    assert statuses(report)["status"] == ("failed", "revoked")
