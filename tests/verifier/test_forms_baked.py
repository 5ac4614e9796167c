"""Reading the forms a credential arrives in (read_input), and baked badge images: PNG iTXt
chunks read by hand, SVG read with defusedxml, and bake_png / bake_svg round trips."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from verifier.forms import FormError, ParsedInput, is_url, read_input
from verifier.forms.baked import OB_NAMESPACE, bake_png, bake_svg, extract_png, extract_svg

CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    "id": "https://badges.test/credentials/1",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:badges.test:issuers:acme", "type": ["Profile"], "name": "Acme <&> \"Academy\""},
    "name": "Contains ]]> and </openbadges:credential> and é",
    "proof": {"type": "DataIntegrityProof", "proofValue": "z123"},
}
JSON_TEXT = json.dumps(CREDENTIAL)
# Any well-formed compact JWS shape: read_input decodes the header and payload, verifies nothing.
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJkaWQ6ZXhhbXBsZTp4In0.c2lnbmF0dXJl"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="4"/></svg>'


def chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png(*extra: bytes, end: bytes = chunk(b"IEND", b"")) -> bytes:
    """A 1x1 grey PNG with `extra` chunks between IDAT and IEND."""
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + b"".join(extra) + end


def itxt(text: bytes, *, keyword: bytes = b"openbadgecredential", flag: int = 0) -> bytes:
    return chunk(b"iTXt", keyword + b"\0" + bytes([flag, 0]) + b"en\0\0" + text)


# --- read_input: detecting the form -----------------------------------------------------------

def test_a_dict_is_a_json_ld_credential():
    assert read_input(CREDENTIAL) == ParsedInput("json-ld", credential=CREDENTIAL)


@pytest.mark.parametrize("data", [JSON_TEXT, JSON_TEXT.encode(), "\ufeff  " + JSON_TEXT + "\n", b"\xef\xbb\xbf" + JSON_TEXT.encode()])
def test_json_text_is_a_json_ld_credential(data):
    assert read_input(data) == ParsedInput("json-ld", credential=CREDENTIAL)


@pytest.mark.parametrize("data", [JWT, f"  {JWT}\n", JWT.encode()])
def test_a_compact_jws_is_a_jwt(data):
    assert read_input(data) == ParsedInput("jwt", jwt=JWT)


def test_a_jwt_shape_that_does_not_decode_is_malformed():
    with pytest.raises(FormError) as error:
        read_input("eyJub3QganNvbg.eyJ9.c2ln")
    assert error.value.code == "malformed_jwt"


@pytest.mark.parametrize("data, code", [
    ("[1, 2]", "not_a_credential"),
    ('"text"', "not_a_credential"),
    ("hello there", "unreadable_input"),
    ("", "unreadable_input"),
    (b"\xff\xfe\x00garbage", "unreadable_input"),
    ('{"a": 1, "a": 2}', "unreadable_input"),  # a duplicated key could mean two things
    ('{"a": NaN}', "unreadable_input"),
    ("https://badges.test/credentials/1", "not_a_credential"),  # fetched by the caller, not here
    (12, "unreadable_input"),
])
def test_unreadable_inputs(data, code):
    with pytest.raises(FormError) as error:
        read_input(data)
    assert error.value.code == code, error.value


def test_is_url():
    assert is_url(" https://badges.test/credentials/1\n") and is_url(b"http://x.test/a")
    assert not is_url("https://a.test/ b") and not is_url(JSON_TEXT) and not is_url({"id": "https://x"})


def test_the_size_cap():
    big = json.dumps({**CREDENTIAL, "padding": "x" * 2_000_000})
    with pytest.raises(FormError) as error:
        read_input(big)
    assert error.value.code == "input_too_large"
    assert read_input(JSON_TEXT, max_bytes=len(JSON_TEXT.encode())).credential == CREDENTIAL
    with pytest.raises(FormError):
        read_input(JSON_TEXT, max_bytes=len(JSON_TEXT.encode()) - 1)


def nested(depth: int) -> str:
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def test_json_depth_cap():
    assert read_input(nested(64)).form == "json-ld"
    for text in (nested(65), "[" * 200_000 + "]" * 200_000):  # the second one beyond recursion
        with pytest.raises(FormError) as error:
            read_input(text)
        assert error.value.code == "json_too_deep"


def test_json_node_cap():
    # The object itself, the list, and its items: 2 + n nodes.
    assert read_input(json.dumps({"a": [0] * 9_998})).form == "json-ld"
    with pytest.raises(FormError) as error:
        read_input(json.dumps({"a": [0] * 9_999}))
    assert error.value.code == "json_too_many_nodes"


def test_a_dict_given_directly_is_held_to_the_same_caps():
    deep: dict = {}
    for _ in range(70):
        deep = {"a": deep}
    with pytest.raises(FormError) as error:
        read_input(deep)
    assert error.value.code == "json_too_deep"
    with pytest.raises(FormError) as error:
        read_input({"a": object()})
    assert error.value.code == "unreadable_input"


def test_a_declared_image_type_that_the_content_contradicts():
    with pytest.raises(FormError) as error:
        read_input(JSON_TEXT, filename="badge.png")
    assert error.value.code == "unreadable_input"
    with pytest.raises(FormError):
        read_input(JSON_TEXT.encode(), content_type="image/svg+xml; charset=utf-8")
    # Content, not the claimed type, decides: a real PNG sent as JSON is still a PNG.
    assert read_input(bake_png(png(), JSON_TEXT), content_type="application/json").form == "png"


# --- PNG --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (JSON_TEXT, ParsedInput("png", credential=CREDENTIAL)),
    (JWT, ParsedInput("png", jwt=JWT)),
])
def test_bake_png_round_trip(text, expected):
    baked = bake_png(png(), text)
    assert read_input(baked) == expected
    assert extract_png(baked) == text
    assert baked.endswith(chunk(b"IEND", b""))  # the credential chunk goes before IEND


def test_other_chunks_and_bytes_after_iend_are_ignored():
    baked = png(chunk(b"tEXt", b"Comment\0hello"), itxt(b"x", keyword=b"Title"), itxt(JSON_TEXT.encode())) + b"trailing"
    assert read_input(baked).credential == CREDENTIAL


def test_a_compressed_chunk_is_accepted():
    assert read_input(png(itxt(zlib.compress(JSON_TEXT.encode()), flag=1))).credential == CREDENTIAL


def test_a_compressed_chunk_that_inflates_beyond_the_cap_is_refused():
    bomb = zlib.compress(b" " * 5_000_000, 9)  # ~5 kB that would inflate to 5 MB
    with pytest.raises(FormError) as error:
        read_input(png(itxt(bomb, flag=1)))
    assert error.value.code == "input_too_large"


@pytest.mark.parametrize("data", [
    png(itxt(JSON_TEXT.encode()))[:-6],                                    # truncated
    png(itxt(JSON_TEXT.encode()), end=b""),                                # no IEND
    png(chunk(b"iTXt", b"openbadgecredential\0\0\0\0\0" + JWT.encode(), crc=1)),  # bad CRC
    b"\x89PNG\r\n\x1a\n" + chunk(b"IDAT", b"") + chunk(b"IEND", b""),      # no IHDR first
    png(b"\x7f\xff\xff\xff" + b"iTXt" + b"short"),                         # length past the end
    png(chunk(b"iTXt", b"openbadgecredential")),                           # iTXt without its fields
    png(itxt(b"\xff\xfe", flag=0)),                                        # not UTF-8
    png(itxt(b"not zlib", flag=1)),
])
def test_damaged_pngs_are_unreadable(data):
    with pytest.raises(FormError) as error:
        read_input(data)
    assert error.value.code == "unreadable_input", error.value


def test_a_png_without_a_credential():
    with pytest.raises(FormError) as error:
        read_input(png())
    assert error.value.code == "baked_image_without_credential"
    with pytest.raises(FormError) as error:
        read_input(png(itxt(b'{"type": "Assertion"}', keyword=b"openbadges")))
    assert error.value.code == "baked_image_without_credential" and "2.0" in error.value.message


def test_two_credentials_in_one_png_are_refused():
    with pytest.raises(FormError) as error:
        read_input(png(itxt(JSON_TEXT.encode()), itxt(JWT.encode())))
    assert error.value.code == "multiple_credentials"
    with pytest.raises(FormError):
        bake_png(bake_png(png(), JSON_TEXT), JWT)


def test_a_png_holding_neither_json_nor_a_jwt():
    with pytest.raises(FormError) as error:
        read_input(bake_png(png(), "just words"))
    assert error.value.code == "unreadable_input"


# --- SVG --------------------------------------------------------------------------------------

def test_bake_svg_puts_json_in_cdata_and_reads_it_back():
    baked = bake_svg(SVG, JSON_TEXT)
    assert baked.startswith(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" xmlns:openbadges="{OB_NAMESPACE}">'
                            "<openbadges:credential><![CDATA[")
    assert baked.endswith('<circle r="4"/></svg>')
    assert read_input(baked) == ParsedInput("svg", credential=CREDENTIAL)
    assert read_input(baked.encode()) == ParsedInput("svg", credential=CREDENTIAL)


def test_bake_svg_puts_a_jwt_in_the_verify_attribute():
    baked = bake_svg(SVG, JWT)
    assert f'<openbadges:credential verify="{JWT}"></openbadges:credential>' in baked
    assert read_input(baked) == ParsedInput("svg", jwt=JWT)


def test_bake_svg_keeps_the_prolog_and_handles_awkward_root_tags():
    prolog = '<?xml version="1.0" encoding="UTF-8"?>\n<!-- an <svg> in a comment -->\n'
    for svg in (
        prolog + SVG,
        '<svg xmlns="http://www.w3.org/2000/svg" data-x="a>b"/>',                      # self-closing, ">" in a value
        f"<svg xmlns='http://www.w3.org/2000/svg' xmlns:openbadges='{OB_NAMESPACE}'\n></svg>",  # already declared
    ):
        baked = bake_svg(svg, JSON_TEXT)
        assert read_input(baked).credential == CREDENTIAL, baked
        assert baked.count("xmlns:openbadges") == 1
    assert bake_svg(prolog + SVG, JWT).startswith(prolog)


def test_bake_svg_refuses_a_second_credential_and_a_rebound_prefix():
    with pytest.raises(FormError):
        bake_svg(bake_svg(SVG, JSON_TEXT), JWT)
    with pytest.raises(FormError):
        bake_svg('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="urn:other"/>', JSON_TEXT)


def test_a_plain_text_body_is_read_too():
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="{OB_NAMESPACE}"><g>'
           f"<ob:credential>\n  {JWT}\n</ob:credential></g></svg>")
    assert read_input(svg) == ParsedInput("svg", jwt=JWT)


@pytest.mark.parametrize("svg", [
    # Billion laughs: entities are refused with the DTD that declares them.
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    '<svg xmlns="http://www.w3.org/2000/svg">&b;</svg>',
    # External entity (file disclosure).
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    # Any DTD but the standard SVG DOCTYPE (tests/verifier/test_reference_agreement.py): an external
    # DTD of someone's, the standard public id with another system id, the standard one with an
    # internal subset, and the standard one with an entity it would have to define.
    '<!DOCTYPE svg SYSTEM "http://evil.example/svg.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://evil.example/svg11.dtd"><svg/>',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" '
    '[<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    '<svg xmlns="http://www.w3.org/2000/svg">&nbsp;</svg>',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg/>',
    "<svg xmlns='http://www.w3.org/2000/svg'><unclosed></svg>",
    "<html><body/></html>",
])
def test_hostile_or_broken_svgs_are_unreadable(svg):
    with pytest.raises(FormError) as error:
        read_input(svg)
    assert error.value.code == "unreadable_input", error.value


def test_an_svg_without_a_credential():
    with pytest.raises(FormError) as error:
        read_input(SVG)
    assert error.value.code == "baked_image_without_credential"
    ob2 = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="x"/></svg>'
    with pytest.raises(FormError) as error:
        read_input(ob2)
    assert "2.0" in error.value.message
    empty = f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:o="{OB_NAMESPACE}"><o:credential/></svg>'
    with pytest.raises(FormError) as error:
        read_input(empty)
    assert error.value.code == "baked_image_without_credential"


@pytest.mark.parametrize("svg", [
    f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:o="{OB_NAMESPACE}"><o:credential verify="{JWT}"/><o:credential verify="{JWT}"/></svg>',
    f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:o="{OB_NAMESPACE}"><o:credential verify="{JWT}">{{}}</o:credential></svg>',
])
def test_an_ambiguous_svg_is_refused(svg):
    with pytest.raises(FormError) as error:
        extract_svg(svg)
    assert error.value.code == "multiple_credentials"


def test_the_credential_element_must_be_in_the_ob_3_namespace():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:o="https://purl.imsglobal.org/spec/ob/v3p0"><o:credential verify="x.y.z"/></svg>'
    with pytest.raises(FormError) as error:
        read_input(svg)
    assert error.value.code == "baked_image_without_credential"
