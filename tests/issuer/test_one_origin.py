"""Credential ids, status lists and the issuer's did:web share the deployment's one origin, for
credentials issued through every path: a result, a renewal, a batch (JSON and CSV), a reissue (API
and command line), the VC API. And a verifier elsewhere, reading that origin only, verifies each."""

from __future__ import annotations

import dataclasses
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from issuer import create_app
from issuer.bootstrap import check_node
from issuer.cli import main
from issuer.models import AssessmentResult, Credential
from issuer.urls import Urls
from keys import did_web_for
from tests.conftest import ACHIEVEMENT, ISSUER, TEST_KEK, Api, make_token, result_body
from verifier import Verifier
from verifier.resolvers import Resolver

# Not the suite's usual https://badges.test: a port, so did:web's %3A encoding is exercised too.
ORIGIN = "https://node.example:8443"
DID = did_web_for(ORIGIN, "issuers", ISSUER["slug"])


@pytest.fixture
def node(services, tmp_path, database_url):
    services = dataclasses.replace(services, urls=Urls(ORIGIN))
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "BASE_URL": ORIGIN},
                     services=services)
    check_node(app)  # records ORIGIN as the deployment's origin
    return app


@pytest.fixture
def admin(node) -> Api:
    return Api(node.test_client(), make_token(node.extensions["badges"]))


def served(client):
    """`url -> dict` for URLs under ORIGIN, as a verifier elsewhere would fetch them over HTTPS."""

    def fetch_json(url: str) -> dict:
        assert url.startswith(ORIGIN + "/"), f"{url} is not under the deployment's origin"
        response = client.get(url.removeprefix(ORIGIN), headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        return response.get_json()

    return fetch_json


def assert_one_origin(credential: dict, fetch_json, document_loader, clock, *, ours: bool = True,
                      status: str = "passed") -> None:
    issuer = credential["issuer"]["id"] if isinstance(credential["issuer"], dict) else credential["issuer"]
    assert issuer == DID
    assert credential["proof"]["verificationMethod"].startswith(DID + "#")
    # Ours, and the VC API's when the caller brings no id: minted under the origin.
    assert credential["id"].startswith(f"{ORIGIN}/credentials/")
    if ours:  # an achievement of ours (the VC API signs the caller's subject as it is)
        achievement = credential["credentialSubject"]["achievement"]["id"]
        assert achievement.startswith(f"{ORIGIN}/achievements/")
    # Status entries of ours on every path (the VC API adds them unless the caller brings its own).
    entries = credential["credentialStatus"]
    assert entries
    for entry in entries if isinstance(entries, list) else [entries]:
        assert entry["statusListCredential"].startswith(f"{ORIGIN}/status/")
        status_list = fetch_json(entry["statusListCredential"])
        assert status_list["id"] == entry["statusListCredential"]
        assert (status_list["issuer"]["id"] if isinstance(status_list["issuer"], dict) else status_list["issuer"]) == DID
    did_document = fetch_json(f"{ORIGIN}/issuers/{ISSUER['slug']}/did.json")
    assert did_document["id"] == DID and credential["proof"]["verificationMethod"] in did_document["assertionMethod"]
    outside = Verifier(document_loader, Resolver(fetch_json), clock,
                       local_documents=fetch_json)
    checks = {check.check: (check.status, check.code) for check in outside.verify_input(credential).checks}
    # Read from the origin: the DID document (issuer, proof) and the status lists (status).
    assert checks["issuer"] == checks["proof"] == ("passed", None), checks
    assert checks["status"] == ((status, None) if status in ("passed", "skipped") else ("failed", status)), checks


def test_every_issuing_path_mints_under_the_one_origin(node, admin, clock, document_loader, database_url, tmp_path):
    fetch_json = served(node.test_client())
    assert admin.post("/api/v1/issuers", json=ISSUER).status_code == 201
    achievement = admin.post(f"/api/v1/issuers/{ISSUER['slug']}/achievements", json=ACHIEVEMENT).get_json()
    results = f"/api/v1/achievements/{achievement['id']}/results"
    issued = {}

    first = admin.post(results, json=result_body("attempt-1")).get_json()
    issued["result"] = first["credential"]
    clock.advance(days=30)
    renewal = admin.post(results, json=result_body("attempt-2")).get_json()
    assert renewal["renews"] == first["credential_id"]
    issued["renewal"] = renewal["credential"]
    batch = admin.post(f"{results}/batch", json={"results": [
        result_body("attempt-3", email="grace@example.org"), result_body("attempt-4", email="alan@example.org")]})
    assert batch.status_code == 200
    issued["batch"], issued["batch 2"] = (item["credential"] for item in batch.get_json()["items"])
    csv = "external_id,email,score,completed_at\nattempt-5,edsger@example.org,90,2026-11-25T11:00:00Z\n"
    batch_csv = admin.post(f"{results}/batch", data=csv, headers={"Content-Type": "text/csv"})
    issued["batch (CSV)"] = batch_csv.get_json()["items"][0]["credential"]
    reissue = admin.post(f"/api/v1/credentials/{renewal['credential_id']}/reissue", json={"reason": "typo", "score": 99})
    assert reissue.status_code == 201, reissue.get_json()
    issued["reissue"] = reissue.get_json()["credential"]
    vc_api = admin.post("/credentials/issue", json={"credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
        "issuer": DID, "credentialSubject": {"id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"}}})
    assert vc_api.status_code == 201, vc_api.get_json()

    # The command line, on the same database, with the same origin as a node would have.
    env = {"BADGES_INSTANCE_PATH": str(tmp_path / "cli"), "BADGES_BASE_URL": ORIGIN,
           "BADGES_DATABASE_URL": database_url, "BADGES_KEY_ENCRYPTION_KEY": TEST_KEK}
    runner = CliRunner()
    reissued = runner.invoke(main, ["credential", "reissue", first["credential_id"], "--reason", "typo"], env=env)
    assert reissued.exit_code == 0, reissued.output
    path = tmp_path / "results.csv"
    path.write_text(csv.replace("attempt-5", "attempt-6").replace("edsger", "barbara"))
    imported = runner.invoke(main, ["results", "import", str(path), "--achievement", achievement["id"]], env=env)
    assert imported.exit_code == 0, imported.output
    for name, credential_id in (("reissue (CLI)", reissued.output.split()[-1]),):
        issued[name] = admin.get(f"/api/v1/credentials/{credential_id}").get_json()["credential"]
    with node.extensions["badges"].sessionmaker() as session:
        issued["import (CLI)"] = session.scalar(
            select(Credential.document).join(AssessmentResult, Credential.result_id == AssessmentResult.id)
            .where(AssessmentResult.external_id == "attempt-6"))

    superseded = {"result", "renewal"}  # the reissues revoked them
    for path_name, credential in issued.items():
        try:
            assert_one_origin(credential, fetch_json, document_loader, clock,
                              status="revoked" if path_name in superseded else "passed")
        except AssertionError as error:
            raise AssertionError(f"{path_name}: {error}") from None
    assert_one_origin(vc_api.get_json()["verifiableCredential"], fetch_json, document_loader, clock, ours=False)


def test_the_command_line_mints_nothing_under_another_origin(node, admin, database_url, tmp_path):
    assert admin.post("/api/v1/issuers", json=ISSUER).status_code == 201
    env = {"BADGES_INSTANCE_PATH": str(tmp_path / "cli"), "BADGES_BASE_URL": "https://elsewhere.test",
           "BADGES_DATABASE_URL": database_url, "BADGES_KEY_ENCRYPTION_KEY": TEST_KEK}
    for args in (["issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example"],
                 ["keys", "rotate", "--issuer", ISSUER["slug"]]):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 1, result.output
        assert f"set BADGES_BASE_URL={ORIGIN}" in result.output and len(result.output.strip().splitlines()) == 1
