"""Two passes that complete one pathway at the same moment award one pathway credential, also when
the two components belong to different issuers (SQLite and PostgreSQL), over real HTTP."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from issuer.models import PathwayAward
from tests.conftest import ACHIEVEMENT, ISSUER, Api, make_token, result_body
from tests.issuer.live import LiveServer, http

EARNERS = 6


def test_concurrent_completions_award_once(app, services):
    api = Api(app.test_client(), make_token(services))
    assert api.post("/api/v1/issuers", json=ISSUER).status_code == 201
    assert api.post("/api/v1/issuers", json={"slug": "other", "name": "Other", "url": "https://other.example",
                                             "pathways_open": True}).status_code == 201
    a, b = (api.post("/api/v1/issuers/acme/achievements", json={**ACHIEVEMENT, "name": n}).json["id"] for n in "AB")
    c = api.post("/api/v1/issuers/other/achievements", json={**ACHIEVEMENT, "name": "C"}).json["id"]
    pathway = api.post("/api/v1/issuers/acme/pathways", json={
        "name": "All three", "description": "A, B and C.", "criteria": {"narrative": "Earn A, B and C."},
        "requirements": {"all_of": [a, b, c]}}).json["id"]
    emails = [f"e{n}@example.org" for n in range(EARNERS)]
    for n, email in enumerate(emails):
        assert api.post(f"/api/v1/achievements/{a}/results", json=result_body(f"a-{n}", email=email)).status_code == 201

    server = LiveServer().start(app)
    answers: dict[tuple[str, int], dict] = {}
    try:
        def complete(achievement_id: str, n: int, start: threading.Barrier) -> None:
            start.wait()
            answer = http("POST", f"{server.base_url}/api/v1/achievements/{achievement_id}/results", token=api.token,
                          body=result_body(f"{achievement_id}-{n}", email=emails[n]))
            answers[(achievement_id, n)] = {"status": answer.status, **(answer.body or {})}

        for n in range(EARNERS):
            start = threading.Barrier(2)
            threads = [threading.Thread(target=complete, args=(x, n, start)) for x in (b, c)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        server.close()

    assert {answer["status"] for answer in answers.values()} == {201}, answers
    with services.sessionmaker() as session:
        awards = list(session.scalars(select(PathwayAward).where(PathwayAward.pathway_id == pathway)))
    per_earner = Counter(award.earner for award in awards)
    assert per_earner == {f"mailto:{email}": 1 for email in emails}
    # Exactly one of the two answers of each earner names the award, and it is the stored one.
    for n in range(EARNERS):
        named = [x["credential_id"] for key in ((b, n), (c, n)) for x in answers[key].get("pathway_credentials", [])]
        assert named == [next(a.credential_id for a in awards if a.earner == f"mailto:{emails[n]}")]
