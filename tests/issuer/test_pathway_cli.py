"""`badges pathway create|show` on a real instance folder and database."""

from __future__ import annotations

import json

from tests.conftest import ACHIEVEMENT
from tests.issuer.test_cli import dispose, instance, last_line  # noqa: F401  (instance is a fixture)


def test_create_and_show(instance, tmp_path):
    instance.ok("issuer", "create", "--slug", "x", "--name", "X", "--url", "https://x.example")
    token = last_line(instance.ok("token", "create").output)
    app = instance.app()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        ids = [app.test_client().post("/api/v1/issuers/x/achievements", headers=headers,
                                      json={**ACHIEVEMENT, "name": n}).json["id"] for n in "AB"]
    finally:
        dispose(app)
    definition = {"name": "Both", "description": "A and B.", "criteria": {"narrative": "Earn A and B."},
                  "requirements": {"n_of": 2, "from": ids}, "valid_for": "P2Y"}
    path = tmp_path / "pathway.json"
    path.write_text(json.dumps(definition))
    pathway_id = last_line(instance.ok("pathway", "create", "--issuer", "x", str(path)).output)
    shown = json.loads(instance.ok("pathway", "show", pathway_id).output)
    assert {k: shown[k] for k in ("issuer", "name", "requirements", "valid_for", "awarded")} == {
        "issuer": "x", "name": "Both", "requirements": {"n_of": 2, "from": ids}, "valid_for": "P2Y", "awarded": 0}

    path.write_text(json.dumps({**definition, "requirements": {"n_of": 3, "from": ids}}))
    refused = instance.fails("pathway", "create", "--issuer", "x", str(path))
    assert "requirements.n_of: Impossible" in refused.output
    path.write_text("{not json")
    assert "not accepted JSON" in instance.fails("pathway", "create", "--issuer", "x", str(path)).output
    path.write_text(json.dumps(definition))
    assert "there is no issuer" in instance.fails("pathway", "create", "--issuer", "nope", str(path)).output
    assert "is not a pathway" in instance.fails("pathway", "show", ids[0]).output
