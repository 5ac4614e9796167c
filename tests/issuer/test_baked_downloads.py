"""GET /credentials/<id>/badge.png and /badge.svg: the achievement's image, uploaded or generated,
baked with the signed credential; read back by our verifier, as a library and over HTTP."""

from __future__ import annotations

import base64
import io
import re
from xml.etree import ElementTree

import pytest
from PIL import Image

from tests.conftest import ACHIEVEMENT, result_body
from tests.issuer.problems import assert_problem
from tests.issuer.test_achievement_images import SVG_CSP, SVG_NS, png, put_image
from verifier.forms import read_input

SVG = "{http://www.w3.org/2000/svg}"


def credential_id(credential: dict) -> str:
    return credential["id"].rsplit("/", 1)[1]


def download(client, credential: dict, extension: str):
    response = client.get(f"/credentials/{credential_id(credential)}/badge.{extension}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="python-basics-{credential_id(credential)}.{extension}"'
    )
    return response


def assert_round_trip(client, outside_verifier, data: bytes, form: str, credential: dict) -> None:
    """The verifier reads the credential back, identical, and it verifies: as a library, and
    through POST /api/v1/verify with the image uploaded as a file."""
    parsed = read_input(data)
    assert parsed.form == form
    assert parsed.credential == credential
    report = outside_verifier.verify_input(data)
    assert report.verified, report.to_dict()
    response = client.post("/api/v1/verify", data={"file": (io.BytesIO(data), f"badge.{form}")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.json["verified"] is True, response.json["checks"]
    assert response.json["credential"]["id"] == credential["id"]


# --- generated images ----------------------------------------------------------------------------

def test_generated_png_round_trip(client, issued, outside_verifier):
    response = download(client, issued, "png")
    assert response.mimetype == "image/png"
    assert_round_trip(client, outside_verifier, response.data, "png", issued)
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (512, 512)
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    # The ring, the disc, and white text drawn on it.
    assert (255, 255, 255) in colours and len(colours) > 3


def test_generated_svg_round_trip(client, issued, outside_verifier):
    response = download(client, issued, "svg")
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == SVG_CSP
    assert_round_trip(client, outside_verifier, response.data, "svg", issued)
    root = ElementTree.fromstring(response.data)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert texts == ["Python Basics", "Acme Academy"]


def test_generated_svg_escapes_and_wraps_names(api, client, issuer, outside_verifier):
    name = 'R&D <script>alert("x")</script> for Very Long Achievement Names Indeed'
    response = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json={**ACHIEVEMENT, "name": name})
    achievement = response.json
    credential = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential"]
    data = client.get(f"/credentials/{credential_id(credential)}/badge.svg").data
    # Outside the credential's CDATA, the name is escaped text, never markup.
    assert b"<script" not in data.split(b"</openbadges:credential>")[1]
    assert b"&lt;script&gt;" in data
    root = ElementTree.fromstring(data)
    lines = [t.text for t in root.iter(f"{SVG}tspan")]
    # At most 16 characters a line (a longer word is split), four lines at most; the rest is
    # cut, and shown to be cut.
    assert lines == ['R&D <script>aler', 't("x")</script>', "for Very Long", "Achievement\u2026"]
    assert root.find(f"{SVG}title").text == f"{name} (Acme Academy)"
    assert outside_verifier.verify_input(data).verified
    png_data = client.get(f"/credentials/{credential_id(credential)}/badge.png").data
    assert read_input(png_data).credential == credential


def test_characters_xml_cannot_hold_do_not_break_the_svg(api, client, issuer, outside_verifier):
    name = "Tab\x0bbed\uffff Badge"
    achievement = api.post(f"/api/v1/issuers/{issuer['slug']}/achievements", json={**ACHIEVEMENT, "name": name}).json
    credential = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential"]
    response = client.get(f"/credentials/{credential_id(credential)}/badge.svg")
    assert response.status_code == 200
    assert ElementTree.fromstring(response.data).find(f"{SVG}title").text == "Tabbed Badge (Acme Academy)"
    assert read_input(response.data).credential == credential
    assert outside_verifier.verify_input(response.data).verified


# --- uploaded images -----------------------------------------------------------------------------

def test_uploaded_png_is_baked(api, client, achievement, outside_verifier):
    put_image(api, achievement["id"], png(300, 200, colour="#aa2200"), "image/png")
    credential = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential"]

    baked = download(client, credential, "png").data
    assert_round_trip(client, outside_verifier, baked, "png", credential)
    with Image.open(io.BytesIO(baked)) as image:
        assert image.size == (300, 200) and image.convert("RGB").getpixel((5, 5)) == (0xAA, 0x22, 0x00)

    # As SVG, the PNG is wrapped: embedded as a data: URI at its own size.
    baked_svg = download(client, credential, "svg").data
    assert_round_trip(client, outside_verifier, baked_svg, "svg", credential)
    root = ElementTree.fromstring(baked_svg)
    assert (root.get("width"), root.get("height")) == ("300", "200")
    href = root.find(f"{SVG}image").get("href")
    embedded = base64.b64decode(href.removeprefix("data:image/png;base64,"))
    assert embedded == client.get(f"/achievements/{achievement['id']}/image").data


def test_uploaded_svg_is_baked(api, client, achievement, outside_verifier):
    svg = f'<svg {SVG_NS} width="200" height="200"><circle cx="100" cy="100" r="90" fill="#123"/><script>x()</script></svg>'
    assert put_image(api, achievement["id"], svg.encode(), "image/svg+xml").status_code == 200
    credential = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body()).json["credential"]

    baked = download(client, credential, "svg").data.decode()
    assert_round_trip(client, outside_verifier, baked.encode(), "svg", credential)
    # The sanitised image, with the credential element first inside the root.
    assert baked.startswith(f'<svg {SVG_NS} width="200" height="200" '
                            'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential><![CDATA[')
    assert baked.endswith('</openbadges:credential><circle cx="100" cy="100" r="90" fill="#123"></circle></svg>')

    # No SVG renderer here: the PNG download is the generated badge.
    baked_png = download(client, credential, "png").data
    assert_round_trip(client, outside_verifier, baked_png, "png", credential)
    with Image.open(io.BytesIO(baked_png)) as image:
        assert image.size == (512, 512)


def test_a_credential_keeps_its_own_text_after_the_image_changes(api, client, issued, achievement, outside_verifier):
    put_image(api, achievement["id"], png(), "image/png")
    baked = download(client, issued, "png").data
    # The credential signed before the upload names no image; its badge shows the new one.
    assert read_input(baked).credential == issued
    assert outside_verifier.verify_input(baked).verified


# --- who may see them ----------------------------------------------------------------------------

def test_a_hidden_credential_has_no_badge(api, client, issued):
    assert api.client.patch("/api/v1/issuers/acme", json={"credentials_public": False},
                            headers={"Authorization": f"Bearer {api.token}"}).status_code == 200
    for extension in ("png", "svg"):
        response = client.get(f"/credentials/{credential_id(issued)}/badge.{extension}")
        assert_problem(response, 404, "credential_not_found")


@pytest.mark.parametrize("path", ["00000000-0000-4000-8000-000000000000", "not-an-id"])
def test_an_unknown_credential_has_no_badge(client, issuer, path):
    for extension in ("png", "svg"):
        assert_problem(client.get(f"/credentials/{path}/badge.{extension}"), 404, "credential_not_found")


def test_a_revoked_credential_downloads_but_does_not_verify(api, client, issued, outside_verifier):
    revoke = api.post(f"/api/v1/credentials/{credential_id(issued)}/revoke", json={"reason": "cheated"})
    if revoke.status_code == 404:
        pytest.skip("credential revocation is not in this tree yet")
    assert revoke.status_code == 200, revoke.json
    baked = download(client, issued, "png").data
    report = outside_verifier.verify_input(baked)
    assert not report.verified
    assert re.search("revoked", str(report.to_dict()))


def test_the_png_folds_accents_its_font_cannot_draw():
    from PIL import ImageFont

    from issuer.badges import drawable

    # Pillow's bundled font has ASCII glyphs only; the SVG keeps the real text.
    assert drawable("Zürich Crème brûlée", ImageFont.load_default(size=40)) == "Zurich Creme brulee"
