"""PUT /api/v1/achievements/<id>/image and GET /achievements/<id>/image: limits, types, broken
images, SVG sanitising, scope, and the image named by new credentials."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.conftest import BASE_URL, make_token, result_body
from tests.issuer.problems import assert_problem, row_counts

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def png(width: int = 128, height: int = 128, *, colour="#336699", text_chunk: bytes | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    data = out.getvalue()
    if text_chunk is not None:  # a metadata chunk right after IHDR
        data = data[:33] + chunk(b"tEXt", text_chunk) + data[33:]
    return data


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (a decompression bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def put_image(api, achievement_id: str, data: bytes, content_type: str, *, token: str | None = None):
    token = token if token is not None else api.token
    return api.client.put(f"/api/v1/achievements/{achievement_id}/image", data=data,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})


def upload_svg(api, achievement_id: str, svg: str):
    response = put_image(api, achievement_id, svg.encode("utf-8"), "image/svg+xml")
    assert response.status_code == 200, response.get_data(as_text=True)
    return api.client.get(f"/achievements/{achievement_id}/image").get_data(as_text=True)


# --- PNG -----------------------------------------------------------------------------------------

def test_a_png_is_stored_and_served(api, client, achievement):
    response = put_image(api, achievement["id"], png(200, 100, text_chunk=b"Comment\0made with a camera"), "image/png")
    assert response.status_code == 200, response.json
    image_url = f"{BASE_URL}/achievements/{achievement['id']}/image"
    assert response.json["image"] == image_url
    assert api.get(f"/api/v1/achievements/{achievement['id']}").json["image"] == image_url

    served = client.get(f"/achievements/{achievement['id']}/image")
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.size == (200, 100)  # not square: allowed
        assert image.getpixel((10, 10)) == (0x33, 0x66, 0x99)
    # Re-encoded: the upload's metadata does not survive.
    assert b"tEXt" not in served.data and b"camera" not in served.data
    again = client.get(f"/achievements/{achievement['id']}/image", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("size", [(64, 64), (2048, 64)])
def test_the_size_limits_are_inclusive(api, achievement, size):
    assert put_image(api, achievement["id"], png(*size), "image/png").status_code == 200


@pytest.mark.parametrize("size", [(63, 128), (128, 63), (2049, 128), (128, 2049)])
def test_a_png_outside_the_size_limits_is_refused(api, achievement, size):
    body = assert_problem(put_image(api, achievement["id"], png(*size), "image/png"), 422, "image_dimensions")
    assert "between 64 and 2048" in body["detail"]


def test_a_decompression_bomb_is_refused_by_its_header(api, achievement):
    response = put_image(api, achievement["id"], png_claiming(100_000, 100_000), "image/png")
    body = assert_problem(response, 422, "image_dimensions")
    assert "100000x100000" in body["detail"]


def test_an_image_over_512_kib_is_refused(api, client, services, achievement):
    before = row_counts(services)
    oversized = png() + b"\0" * (512 * 1024)
    body = assert_problem(put_image(api, achievement["id"], oversized, "image/png"), 413, "image_too_large")
    assert "524288" in body["detail"]
    assert row_counts(services) == before
    assert_problem(client.get(f"/achievements/{achievement['id']}/image"), 404, "image_not_found")


@pytest.mark.parametrize("content_type, data", [
    ("image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    ("text/html", b"<html><script>alert(1)</script></html>"),
    ("application/octet-stream", png()),
])
def test_other_types_are_refused(api, achievement, content_type, data):
    body = assert_problem(put_image(api, achievement["id"], data, content_type), 415, "unsupported_image_type")
    assert "image/png" in body["detail"] and "image/svg+xml" in body["detail"]


@pytest.mark.parametrize("data, words", [
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "no PNG signature"),
    (png()[:40], "cannot be decoded"),  # cut off after IHDR
    (png()[:20], "before its IHDR"),
    (png()[:29] + b"\0\0\0\0" + png()[33:], "valid IHDR"),  # IHDR CRC broken
    (png_claiming(100, 100), "cannot be decoded"),  # IDAT too short for the image
    (b"", "empty"),
])
def test_a_broken_png_is_refused(api, achievement, data, words):
    body = assert_problem(put_image(api, achievement["id"], data, "image/png"), 422, "image_invalid")
    assert words in body["detail"]


def test_a_png_sent_as_svg_is_refused(api, achievement):
    assert_problem(put_image(api, achievement["id"], png(), "image/svg+xml"), 422, "image_invalid")


def test_a_new_upload_replaces_the_old(api, client, achievement):
    put_image(api, achievement["id"], png(), "image/png")
    upload_svg(api, achievement["id"], f'<svg {SVG_NS} width="100" height="100"><rect width="10" height="10"/></svg>')
    served = client.get(f"/achievements/{achievement['id']}/image")
    assert served.mimetype == "image/svg+xml"


# --- SVG sanitising ------------------------------------------------------------------------------

def test_a_clean_svg_keeps_its_drawing(api, achievement):
    svg = (f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink" width="128" height="128" viewBox="0 0 64 64">'
           '<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/></linearGradient></defs>'
           '<circle id="c" cx="32" cy="32" r="30" fill="url(#g)" stroke="#000"/>'
           '<use xlink:href="#c"/><text x="32" y="40" text-anchor="middle">A &amp; B &lt;3</text></svg>')
    assert upload_svg(api, achievement["id"], svg) == (
        f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink" width="128" height="128" viewBox="0 0 64 64">'
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"></stop></linearGradient></defs>'
        '<circle id="c" cx="32" cy="32" r="30" fill="url(#g)" stroke="#000"></circle>'
        '<use xlink:href="#c"></use><text x="32" y="40" text-anchor="middle">A &amp; B &lt;3</text></svg>'
    )


def test_the_served_svg_is_locked_down(api, client, achievement):
    upload_svg(api, achievement["id"], f'<svg {SVG_NS} width="100" height="100"/>')
    served = client.get(f"/achievements/{achievement['id']}/image")
    assert served.status_code == 200
    assert served.mimetype == "image/svg+xml"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == SVG_CSP


def test_script_handlers_and_foreign_content_are_removed(api, achievement):
    svg = (f'<svg {SVG_NS} width="100" height="100" onload="alert(1)">'
           '<script>alert(2)</script>'
           '<script xlink:href="https://evil.example/x.js" xmlns:xlink="http://www.w3.org/1999/xlink"/>'
           '<foreignObject width="100" height="100"><div xmlns="http://www.w3.org/1999/xhtml" onclick="alert(3)">x</div></foreignObject>'
           '<rect width="10" height="10" onclick="alert(4)" OnMouseOver="alert(5)"/>'
           '<a href="javascript:alert(6)"><text>link</text></a>'
           '<set attributeName="href" to="javascript:alert(7)"/>'
           '<iframe xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example"/>'
           '<text>kept</text></svg>')
    assert upload_svg(api, achievement["id"], svg) == (
        f'<svg {SVG_NS} width="100" height="100"><rect width="10" height="10"></rect><text>kept</text></svg>'
    )


def test_references_that_leave_the_document_are_removed(api, achievement):
    png_data = "iVBORw0KGgo="
    svg = (f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">'
           '<image width="10" height="10" href="https://evil.example/track.png"/>'
           '<image width="10" height="10" xlink:href="http://evil.example/track.png"/>'
           '<image width="10" height="10" href="data:image/svg+xml;base64,PHN2Zz4="/>'
           f'<image width="10" height="10" href="data:image/png;base64,{png_data}"/>'
           '<use href="other.svg#icon"/><use href="#local"/>'
           '<rect id="local" width="5" height="5" fill="url(https://evil.example/x.svg#p)" stroke="url(#local)"/>'
           '<rect width="5" height="5" fill="url(#a) url(evil.svg)"/></svg>')
    assert upload_svg(api, achievement["id"], svg) == (
        f'<svg {SVG_NS} width="100" height="100">'
        '<image width="10" height="10"></image><image width="10" height="10"></image><image width="10" height="10"></image>'
        f'<image width="10" height="10" href="data:image/png;base64,{png_data}"></image>'
        '<use></use><use href="#local"></use>'
        '<rect id="local" width="5" height="5" stroke="url(#local)"></rect>'
        '<rect width="5" height="5"></rect></svg>'
    )


def test_styles_that_fetch_or_run_are_removed(api, achievement):
    svg = (f'<svg {SVG_NS} width="100" height="100">'
           '<style>@import "https://evil.example/x.css";</style>'
           '<style>rect { background: url(https://evil.example/t.png) }</style>'
           '<style>rect { width: expression(alert(1)) }</style>'
           '<style>rect { fill: \\75 rl(x) }</style>'
           # Markup inside a style would join its text into url( once removed: the style goes whole.
           '<style>svg{background:ur<x xmlns="urn:x">Q</x>l(https://evil.example/t.png)}</style>'
           "<style>svg{background-image:image-set('https://evil.example/t.png' 1x)}</style>"
           '<style>rect { fill: #123456 }</style>'
           '<rect width="5" height="5" style="fill:url(https://evil.example/t.png)"/>'
           '<rect width="5" height="5" style="fill:red"/></svg>')
    assert upload_svg(api, achievement["id"], svg) == (
        f'<svg {SVG_NS} width="100" height="100"><style>rect {{ fill: #123456 }}</style>'
        '<rect width="5" height="5"></rect><rect width="5" height="5" style="fill:red"></rect></svg>'
    )


def test_editor_metadata_and_comments_are_dropped(api, achievement):
    svg = (f'<svg {SVG_NS} xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="100" height="100" '
           'inkscape:version="1.3"><!-- a comment --><?xml-stylesheet href="https://evil.example/x.css"?>'
           '<inkscape:grid/><rect width="5" height="5"/></svg>')
    assert upload_svg(api, achievement["id"], svg) == f'<svg {SVG_NS} width="100" height="100"><rect width="5" height="5"></rect></svg>'


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&lol4;</text></svg>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text>&secret;</text></svg>"""

PLAIN_DOCTYPE = """<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>"""


@pytest.mark.parametrize("svg", [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DOCTYPE], ids=["billion_laughs", "external_entity", "doctype"])
def test_a_doctype_is_refused(api, client, achievement, svg):
    body = assert_problem(put_image(api, achievement["id"], svg.encode(), "image/svg+xml"), 422, "image_invalid")
    assert "DOCTYPE" in body["detail"]
    assert_problem(client.get(f"/achievements/{achievement['id']}/image"), 404, "image_not_found")


@pytest.mark.parametrize("svg, code", [
    ("<svg", "image_invalid"),
    ('<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', "image_invalid"),
    ('<svg width="100" height="100"/>', "image_invalid"),  # no SVG namespace: not an SVG image
    (f"<svg {SVG_NS}/>", "image_dimensions"),
    (f'<svg {SVG_NS} viewBox="0 0 24 24"/>', "image_dimensions"),
    (f'<svg {SVG_NS} width="5000" height="100"/>', "image_dimensions"),
    (f'<svg {SVG_NS} width="10cm" height="10cm"/>', "image_dimensions"),
    (f'<?xml version="1.0" encoding="foo"?><svg {SVG_NS} width="100" height="100"/>', "image_invalid"),
    (f'<svg {SVG_NS} width="100" height="100">' + "<g>" * 3000 + "</g>" * 3000 + "</svg>", "image_invalid"),
])
def test_an_unusable_svg_is_refused(api, achievement, svg, code):
    assert_problem(put_image(api, achievement["id"], svg.encode(), "image/svg+xml"), 422, code)


def test_an_svg_without_pixel_size_takes_its_viewbox(api, achievement):
    svg = f'<svg {SVG_NS} width="100%" height="100%" viewBox="0 0 256 128"/>'
    assert upload_svg(api, achievement["id"], svg) == f'<svg {SVG_NS} width="100%" height="100%" viewBox="0 0 256 128"></svg>'


# --- who may upload, and what it changes ---------------------------------------------------------

def test_another_issuers_token_is_refused(api, services, achievement):
    assert api.post("/api/v1/issuers", json={"slug": "other", "name": "Other", "url": "https://other.example"}).status_code == 201
    other_token = make_token(services, "other")
    assert_problem(put_image(api, achievement["id"], png(), "image/png", token=other_token), 403, "token_scope")
    own_token = make_token(services, "acme")
    assert put_image(api, achievement["id"], png(), "image/png", token=own_token).status_code == 200


def test_no_token_is_refused(client, achievement):
    response = client.put(f"/api/v1/achievements/{achievement['id']}/image", data=png(), content_type="image/png")
    assert_problem(response, 401, "token_missing")


def test_an_unknown_achievement_is_not_found(api, issuer):
    assert_problem(put_image(api, "00000000-0000-4000-8000-000000000000", png(), "image/png"), 404, "achievement_not_found")
    assert_problem(api.client.get("/achievements/00000000-0000-4000-8000-000000000000/image"), 404, "achievement_not_found")


def test_an_upload_is_audited(api, achievement):
    put_image(api, achievement["id"], png(100, 80), "image/png")
    entries = api.get("/api/v1/audit").json["items"]
    entry = next(e for e in entries if e["action"] == "achievement.image")
    assert entry["subject_id"] == achievement["id"]
    assert entry["details"]["media_type"] == "image/png"
    assert (entry["details"]["width"], entry["details"]["height"]) == (100, 80)


def test_new_credentials_name_the_uploaded_image(api, achievement, outside_verifier):
    before = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body("a-1")).json["credential"]
    assert "image" not in before["credentialSubject"]["achievement"]
    put_image(api, achievement["id"], png(), "image/png")
    after = api.post(f"/api/v1/achievements/{achievement['id']}/results", json=result_body("a-2")).json["credential"]
    assert after["credentialSubject"]["achievement"]["image"] == {
        "id": f"{BASE_URL}/achievements/{achievement['id']}/image", "type": "Image",
    }
    assert outside_verifier.verify_credential(after).verified
    # The public achievement document names it too.
    document = api.client.get(f"/achievements/{achievement['id']}", headers={"Accept": "application/ld+json"}).json
    assert document["image"]["id"] == f"{BASE_URL}/achievements/{achievement['id']}/image"
