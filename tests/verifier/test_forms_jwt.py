"""VC-JWT credentials (Open Badges 3.0 "JSON Web Token Proof Format"): verify_jwt's proof and
issuer checks, with keys made fresh for the tests (RS256 2048-bit RSA, ES256 P-256, ES384
P-384, EdDSA Ed25519), keys found through the `jwk` header and through a `kid` resolved by a DID resolver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from dataintegrity import did_key_from_ed25519
from verifier.checks.validity import check_validity
from verifier.forms import read_input
from verifier.forms.jwt import JwtResult, verify_jwt
from verifier.forms.jwtkeys import did_key_lookup, thumbprint
from tests.verifier.support import Documents
from verifier.resolvers import Resolver

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SKEW = timedelta(minutes=5)
ISSUER = "did:web:badges.test:issuers:acme"
OTHER_ISSUER = "did:web:elsewhere.test"
VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ALGORITHMS = ("RS256", "ES256", "ES384", "EdDSA")


@pytest.fixture(scope="module")
def keys():
    """One fresh private key per algorithm, and a second set to sign with "the wrong key"."""
    def make():
        return {
            "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
            "ES384": ec.generate_private_key(ec.SECP384R1()),
            "EdDSA": ed25519.Ed25519PrivateKey.generate(),
        }
    return {"issuer": make(), "other": make()}



def _jwk_of(public_key) -> dict:
    if isinstance(public_key, rsa.RSAPublicKey):
        return json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key))
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    return json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public_key))


def credential(**changes) -> dict:
    value = {
        "@context": [VC2, OB],
        "id": "https://badges.test/credentials/3f1c",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": ISSUER, "type": ["Profile"], "name": "Acme Academy"},
        "name": "Teamwork",
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {"id": "https://badges.test/achievements/1", "type": ["Achievement"], "name": "Teamwork",
                            "description": "Works in a team", "criteria": {"narrative": "Did it"}},
        },
    }
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


def seconds(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def claims_for(cred: dict) -> dict:
    """The JWT claims that mirror the credential, as an issuer following OB 3.0 sets them."""
    claims = {"iss": cred["issuer"]["id"], "jti": cred["id"], "sub": cred["credentialSubject"]["id"]}
    start, end = cred.get("validFrom", cred.get("issuanceDate")), cred.get("validUntil", cred.get("expirationDate"))
    if start:
        claims["nbf"] = seconds(start)
    if end:
        claims["exp"] = seconds(end)
    return claims


def sign(payload: dict, private_key, alg: str, **header) -> str:
    return jwt.encode(payload, private_key, algorithm=alg, headers=header)


def vc2_token(private_key, alg, cred=None, claims=None, **header) -> str:
    """A VC 2.0 style token: the payload is the credential with the claims beside its fields."""
    cred = cred or credential()
    return sign({**cred, **(claims_for(cred) if claims is None else claims)}, private_key, alg, **header)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict, payload: dict, signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"



def did_document(did: str, jwk: dict, *, listed: bool = True) -> dict:
    return {
        "id": did,
        "verificationMethod": [{"id": f"{did}#key-1", "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}],
        "assertionMethod": [f"{did}#key-1"] if listed else [],
    }


def verify(token: str, resolve_key=None, now: datetime = NOW) -> JwtResult:
    return verify_jwt(token, resolve_key=resolve_key, now=now, skew=SKEW)


def issuer_lookup(keys, alg: str, **kwargs):
    return did_key_lookup(Documents(did_document(ISSUER, _jwk_of(keys["issuer"][alg].public_key()), **kwargs)))


# --- tokens that verify ------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_token_with_a_kid_resolved_through_the_issuers_did_verifies(keys, alg):
    token = vc2_token(keys["issuer"][alg], alg, kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, alg))
    assert (result.proof.status, result.issuer.status) == ("passed", "passed"), (result.proof, result.issuer)
    assert result.credential == credential()  # the registered claims are not part of the credential
    assert alg in result.proof.message and f"{ISSUER}#key-1" in result.issuer.message


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_token_with_its_key_in_the_jwk_header_verifies_when_the_issuers_did_lists_that_key(keys, alg):
    token = vc2_token(keys["issuer"][alg], alg, jwk=_jwk_of(keys["issuer"][alg].public_key()))
    result = verify(token, issuer_lookup(keys, alg))
    assert (result.proof.status, result.issuer.status) == ("passed", "passed"), (result.proof, result.issuer)
    assert result.credential == credential()


def test_a_vc_1_1_token_carries_the_credential_in_the_vc_claim(keys):
    cred = credential(validFrom=None, validUntil=None, issuanceDate="2026-01-01T00:00:00Z",
                      expirationDate="2027-01-01T00:00:00Z")
    cred["@context"] = [VC1, OB]
    token = sign({"vc": cred, **claims_for(cred)}, keys["issuer"]["RS256"], "RS256", kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.issuer.status) == ("passed", "passed"), result.proof
    assert result.credential == cred


def test_a_did_key_issuer_resolves_offline(keys):
    private = keys["issuer"]["EdDSA"]
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    did = did_key_from_ed25519(raw)
    cred = credential(issuer={"id": did, "type": ["Profile"], "name": "Self"})
    kid = f"{did}#{did.removeprefix('did:key:')}"
    result = verify(vc2_token(private, "EdDSA", cred, kid=kid), did_key_lookup(Resolver()))
    assert (result.proof.status, result.issuer.status) == ("passed", "passed"), (result.proof, result.issuer)


def test_an_https_kid_on_the_issuers_origin_is_the_issuers_key(keys):
    issuer = "https://badges.test/issuers/acme"
    jwk = _jwk_of(keys["issuer"]["ES256"].public_key())
    cred = credential(issuer={"id": issuer, "type": ["Profile"], "name": "Acme"})
    token = vc2_token(keys["issuer"]["ES256"], "ES256", cred, kid="https://badges.test/keys/1")
    result = verify(token, {"https://badges.test/keys/1": jwk}.__getitem__)
    assert (result.proof.status, result.issuer.status) == ("passed", "passed"), (result.proof, result.issuer)


def test_a_subject_without_id_needs_no_sub(keys):
    cred = credential()
    cred["credentialSubject"] = {k: v for k, v in cred["credentialSubject"].items() if k != "id"}
    cred["credentialSubject"]["identifier"] = [{"type": "IdentityObject", "identityHash": "x", "hashed": False,
                                                 "identityType": "emailAddress"}]
    claims = {k: v for k, v in claims_for(credential()).items() if k != "sub"}
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", cred, claims, kid=f"{ISSUER}#key-1"),
                    issuer_lookup(keys, "RS256"))
    assert result.proof.status == "passed", result.proof


# --- signatures and algorithms that are refused -----------------------------------------------

@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_tampered_payload_fails_the_signature(keys, alg):
    token = vc2_token(keys["issuer"][alg], alg, kid=f"{ISSUER}#key-1")
    header, _payload, signature = token.split(".")
    forged = credential(name="Grandmaster of Everything")
    token = f"{header}.{b64(json.dumps({**forged, **claims_for(forged)}).encode())}.{signature}"
    result = verify(token, issuer_lookup(keys, alg))
    assert (result.proof.status, result.proof.code) == ("failed", "invalid_signature")
    assert result.credential["name"] == "Grandmaster of Everything"  # shown in the report, not trusted


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_token_signed_with_another_key_fails(keys, alg):
    token = vc2_token(keys["other"][alg], alg, kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, alg))
    assert (result.proof.status, result.proof.code) == ("failed", "invalid_signature")


def test_a_jwk_header_that_is_not_the_signing_key_fails(keys):
    token = vc2_token(keys["other"]["ES256"], "ES256", jwk=_jwk_of(keys["issuer"]["ES256"].public_key()))
    result = verify(token, issuer_lookup(keys, "ES256"))
    assert (result.proof.status, result.proof.code) == ("failed", "invalid_signature")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_token_is_refused(keys, alg):
    cred = credential()
    token = raw_token({"alg": alg, "kid": f"{ISSUER}#key-1"}, {**cred, **claims_for(cred)})
    assert read_input(token).jwt == token  # recognised as a JWT, then refused
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.proof.code) == ("failed", "unsupported_algorithm")
    assert result.issuer.status == "skipped"


@pytest.mark.parametrize("header_key", ["kid", "jwk"])
def test_hs256_with_the_issuers_public_key_as_secret_is_refused(keys, header_key):
    """Algorithm confusion: the issuer's public key is public, so an HMAC keyed with it proves
    nothing; the allow-list refuses HS256 before any key is used."""
    public = keys["issuer"]["RS256"].public_key()
    secret = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT"}
    header.update({"kid": f"{ISSUER}#key-1"} if header_key == "kid" else {"jwk": _jwk_of(public)})
    cred = credential()
    unsigned = raw_token(header, {**cred, **claims_for(cred)}).rsplit(".", 1)[0]
    token = f"{unsigned}.{b64(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())}"
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.proof.code) == ("failed", "unsupported_algorithm")


@pytest.mark.parametrize("alg", ["RS384", "PS256", "ES512", "ES256K", "HS512", None, 7])
def test_algorithms_outside_the_allow_list_are_refused(keys, alg):
    cred = credential()
    token = raw_token({"alg": alg, "kid": f"{ISSUER}#key-1"}, {**cred, **claims_for(cred)}, b"sig")
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.proof.code) == ("failed", "unsupported_algorithm")


def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused(keys):
    # An ES256 header, but the kid resolves to the issuer's RSA key.
    token = vc2_token(keys["issuer"]["ES256"], "ES256", kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.proof.code) == ("failed", "unsupported_key")


def test_es256_with_a_p384_key_is_refused(keys):
    p384 = ec.generate_private_key(ec.SECP384R1())
    cred = credential()
    # Signed by hand: ES256 names SHA-256 over P-256, and PyJWT will not sign it with P-384.
    header = {"alg": "ES256", "jwk": _jwk_of(p384.public_key())}
    unsigned = raw_token(header, {**cred, **claims_for(cred)}).rsplit(".", 1)[0]
    r, s = decode_dss_signature(p384.sign(unsigned.encode(), ec.ECDSA(hashes.SHA256())))
    token = f"{unsigned}.{b64(r.to_bytes(48, 'big') + s.to_bytes(48, 'big'))}"
    result = verify(token, issuer_lookup(keys, "ES256"))
    assert (result.proof.status, result.proof.code) == ("failed", "unsupported_key")
    assert "curve" in result.proof.message


def test_a_short_rsa_key_is_refused(keys):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cred = credential()
    # Signed by hand: PyJWT warns about (and we make warnings errors) signing with a short key.
    unsigned = raw_token({"alg": "RS256", "jwk": _jwk_of(weak.public_key())}, {**cred, **claims_for(cred)}).rsplit(".", 1)[0]
    token = f"{unsigned}.{b64(weak.sign(unsigned.encode(), padding.PKCS1v15(), hashes.SHA256()))}"
    result = verify(token, did_key_lookup(Documents(did_document(ISSUER, _jwk_of(weak.public_key())))))
    assert (result.proof.status, result.proof.code) == ("failed", "unsupported_key")


@pytest.mark.parametrize("token", [
    "not a jwt", "a.b", "a.b.c.d", "!!!.e30.", "e30.bm90IGpzb24.", "W10.e30.", "e30.W10.",
])
def test_unreadable_tokens_fail_as_malformed(token):
    result = verify(token)
    assert (result.proof.status, result.proof.code, result.credential) == ("failed", "malformed_jwt", None)
    assert result.issuer.status == "skipped"


@pytest.mark.parametrize("header", [
    {"alg": "RS256"},                                      # no key named
    {"alg": "RS256", "kid": 5},
    {"alg": "RS256", "kid": f"{ISSUER}#key-1", "typ": "xml"},
    {"alg": "RS256", "kid": f"{ISSUER}#key-1", "crit": ["exp"], "exp": 1},
    {"alg": "RS256", "kid": f"{ISSUER}#key-1", "b64": False, "crit": ["b64"]},
    {"alg": "RS256", "jwk": "not an object"},
    {"alg": "RS256", "jwk": {"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}},
])
def test_refused_headers(keys, header):
    cred = credential()
    token = raw_token(header, {**cred, **claims_for(cred)}, b"sig")
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.proof.code) == ("failed", "malformed_jwt"), result.proof


def test_a_vc_claim_that_is_not_an_object_is_malformed(keys):
    token = sign({"vc": "text", "iss": ISSUER}, keys["issuer"]["RS256"], "RS256", kid=f"{ISSUER}#key-1")
    assert verify(token, issuer_lookup(keys, "RS256")).proof.code == "malformed_jwt"


def test_a_naive_clock_is_a_callers_mistake(keys):
    with pytest.raises(TypeError):
        verify_jwt("a.b.c", resolve_key=None, now=datetime(2026, 1, 1), skew=SKEW)


# --- the claims must agree with the credential ------------------------------------------------

@pytest.mark.parametrize("claim, value", [
    ("iss", OTHER_ISSUER),
    ("sub", "did:example:someone-else"),
    ("jti", "https://badges.test/credentials/other"),
    ("nbf", seconds("2025-01-01T00:00:00Z")),
    ("exp", seconds("2030-01-01T00:00:00Z")),
    ("nbf", "2026-01-01T00:00:00Z"),  # not a NumericDate
])
def test_each_claim_that_disagrees_is_named(keys, claim, value):
    claims = {**claims_for(credential()), claim: value}
    token = vc2_token(keys["issuer"]["ES256"], "ES256", claims=claims, kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, "ES256"))
    assert (result.proof.status, result.proof.code) == ("failed", "jwt_claims_mismatch")
    assert result.mismatched_claims == (claim,)
    assert claim in result.proof.message


@pytest.mark.parametrize("claim", ["iss", "sub", "jti", "nbf", "exp"])
def test_a_missing_claim_disagrees_with_its_field(keys, claim):
    claims = {k: v for k, v in claims_for(credential()).items() if k != claim}
    token = vc2_token(keys["issuer"]["EdDSA"], "EdDSA", claims=claims, kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, "EdDSA"))
    assert (result.proof.code, result.mismatched_claims) == ("jwt_claims_mismatch", (claim,))


def test_a_claim_without_its_field_disagrees(keys):
    cred = credential(validUntil=None)
    claims = {**claims_for(cred), "exp": seconds("2027-01-01T00:00:00Z")}
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", cred, claims, kid=f"{ISSUER}#key-1"),
                    issuer_lookup(keys, "RS256"))
    assert (result.proof.code, result.mismatched_claims) == ("jwt_claims_mismatch", ("exp",))


def test_every_disagreement_is_listed(keys):
    claims = {**claims_for(credential()), "iss": OTHER_ISSUER, "jti": "urn:x", "exp": 1}
    token = vc2_token(keys["issuer"]["RS256"], "RS256", claims=claims, kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert set(result.mismatched_claims) == {"iss", "jti", "exp"}


def test_fractions_of_a_second_in_the_credential_dates_are_cut(keys):
    cred = credential(validFrom="2026-01-01T00:00:00.750Z")
    claims = {**claims_for(credential()), "nbf": seconds("2026-01-01T00:00:00Z")}
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", cred, claims, kid=f"{ISSUER}#key-1"),
                    issuer_lookup(keys, "RS256"))
    assert result.proof.status == "passed", result.proof


# --- time window ------------------------------------------------------------------------------

def test_an_expired_token_is_reported(keys):
    cred = credential(validUntil="2026-03-01T00:00:00Z")
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", cred, kid=f"{ISSUER}#key-1"),
                    issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.proof.code) == ("failed", "jwt_expired")
    assert "2026-03-01T00:00:00Z" in result.proof.message and "signature is valid" in result.proof.message
    assert result.issuer.status == "passed"
    # The validity check run on the credential reports the same date.
    assert check_validity(result.credential, now=NOW, skew=SKEW).code == "expired"


def test_expiry_within_the_clock_skew_is_tolerated(keys):
    cred = credential(validUntil="2026-06-01T11:57:00Z")
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", cred, kid=f"{ISSUER}#key-1"),
                    issuer_lookup(keys, "RS256"))
    assert result.proof.status == "passed", result.proof


def test_a_token_not_yet_valid_is_reported(keys):
    cred = credential(validFrom="2026-07-01T00:00:00Z")
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", cred, kid=f"{ISSUER}#key-1"),
                    issuer_lookup(keys, "RS256"))
    assert (result.proof.status, result.proof.code) == ("failed", "jwt_not_yet_valid")


# --- whose key it is --------------------------------------------------------------------------

def test_a_jwk_alone_is_not_tied_to_an_https_issuer(keys):
    issuer = "https://badges.test/issuers/acme"
    cred = credential(issuer={"id": issuer, "type": ["Profile"], "name": "Acme"})
    token = vc2_token(keys["other"]["RS256"], "RS256", cred, jwk=_jwk_of(keys["other"]["RS256"].public_key()))
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert result.proof.status == "passed"  # a valid signature, by whoever made the key
    assert (result.issuer.status, result.issuer.code) == ("failed", "unverifiable_issuer_key")


def test_a_jwk_the_issuers_did_does_not_list_is_not_the_issuers(keys):
    token = vc2_token(keys["other"]["RS256"], "RS256", jwk=_jwk_of(keys["other"]["RS256"].public_key()))
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert result.proof.status == "passed"
    assert (result.issuer.status, result.issuer.code) == ("failed", "issuer_key_mismatch")


def test_a_jwk_listed_but_not_for_assertions_is_not_the_issuers(keys):
    token = vc2_token(keys["issuer"]["RS256"], "RS256", jwk=_jwk_of(keys["issuer"]["RS256"].public_key()))
    result = verify(token, issuer_lookup(keys, "RS256", listed=False))
    assert (result.issuer.status, result.issuer.code) == ("failed", "issuer_key_mismatch")


def test_a_kid_of_another_did_is_not_the_issuers_key(keys):
    jwk = _jwk_of(keys["other"]["RS256"].public_key())
    token = vc2_token(keys["other"]["RS256"], "RS256", kid=f"{OTHER_ISSUER}#key-1")
    result = verify(token, did_key_lookup(Documents(did_document(OTHER_ISSUER, jwk))))
    assert result.proof.status == "passed"
    assert (result.issuer.status, result.issuer.code) == ("failed", "issuer_key_mismatch")


def test_a_kid_not_listed_under_assertion_method_is_not_authorized(keys):
    token = vc2_token(keys["issuer"]["RS256"], "RS256", kid=f"{ISSUER}#key-1")
    result = verify(token, issuer_lookup(keys, "RS256", listed=False))
    assert (result.issuer.status, result.issuer.code) == ("failed", "key_not_authorized")
    assert result.proof.status == "skipped"


def test_a_kid_on_another_origin_is_not_the_issuers_key(keys):
    issuer = "https://badges.test/issuers/acme"
    cred = credential(issuer={"id": issuer, "type": ["Profile"], "name": "Acme"})
    jwk = _jwk_of(keys["issuer"]["ES256"].public_key())
    token = vc2_token(keys["issuer"]["ES256"], "ES256", cred, kid="https://evil.test/keys/1")
    result = verify(token, {"https://evil.test/keys/1": jwk}.__getitem__)
    assert (result.issuer.status, result.issuer.code) == ("failed", "issuer_key_mismatch")


def test_kid_and_a_different_jwk_disagree(keys):
    token = vc2_token(keys["issuer"]["RS256"], "RS256", kid=f"{ISSUER}#key-1",
                      jwk=_jwk_of(keys["other"]["RS256"].public_key()))
    result = verify(token, issuer_lookup(keys, "RS256"))
    assert result.proof.status == "passed"  # checked with the key kid names
    assert (result.issuer.status, result.issuer.code) == ("failed", "issuer_key_mismatch")


def test_without_a_resolver_a_kid_cannot_be_followed(keys):
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", kid=f"{ISSUER}#key-1"), None)
    assert (result.issuer.status, result.issuer.code) == ("failed", "unresolvable_key")
    assert result.proof.status == "skipped"


def test_an_unknown_did_is_unresolvable(keys):
    result = verify(vc2_token(keys["issuer"]["RS256"], "RS256", kid=f"{ISSUER}#key-1"), did_key_lookup(Documents()))
    assert (result.issuer.status, result.issuer.code) == ("failed", "unresolvable_key")


def test_a_resolved_key_with_private_material_is_refused(keys):
    private_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(keys["issuer"]["RS256"]))
    document = did_document(ISSUER, private_jwk)
    token = vc2_token(keys["issuer"]["RS256"], "RS256", kid=f"{ISSUER}#key-1")
    result = verify(token, did_key_lookup(Documents(document)))
    assert (result.issuer.status, result.issuer.code) == ("failed", "unsupported_key")


def test_thumbprint_matches_rfc_7638_example():
    # RFC 7638 section 3.1.
    jwk = {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj"
        "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6"
        "qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awa"
        "pJzKnqDKgw")}
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

