"""Baked badge images: the credential inside a PNG or an SVG (Open Badges 3.0, "Baking").

The spec's rules, as implemented here:
- PNG: an `iTXt` chunk with keyword `openbadgecredential`; its text is the credential's JSON or,
  for a VC-JWT, the compact JWS. Compression MUST NOT be used by a baker; as a reader we also
  accept a zlib-compressed chunk (flag 1, method 0), decompressed within a cap. At most one such
  chunk.
- SVG: an `<openbadges:credential>` element, namespace `https://purl.imsglobal.org/ob/v3p0`,
  directly after the `<svg>` start tag. A VC-JWT goes in its `verify` attribute; an embedded-proof
  credential's JSON goes in the element's body wrapped in CDATA. At most one such element.

Reading never trusts the image: PNG chunks are read by hand with their lengths bounded by what is
there and every CRC checked; SVG is parsed by defusedxml with DTDs refused outright (no entity
expansion, no external resources). The one exception is the standard DOCTYPE drawing programs
write (SVG 1.0/1.1, exactly, with no internal subset): it declares nothing, so it is blanked out
before parsing and never read or fetched (`svg_standard_doctype` says it was there). Any other
DOCTYPE is still refused. Extraction returns the embedded text; what it holds (JSON or a
JWT) is decided by the caller, `verifier.forms.read_input`.
"""

from __future__ import annotations

import re
import struct
import zlib
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

from verifier.forms.errors import FormError
from verifier.forms.jwt import looks_like_jwt

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB2_PNG_KEYWORD = b"openbadges"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
CREDENTIAL_TAG = f"{{{OB_NAMESPACE}}}credential"
OB2_ASSERTION_TAG = "{http://openbadges.org}assertion"
MAX_TEXT = 2_000_000  # bytes of credential text, after decompression


# --- PNG ---------------------------------------------------------------------------------------

def png_chunks(data: bytes):
    """Yield (type, body) of each chunk up to and including IEND, CRCs checked.

    :raise FormError: unreadable_input for a missing signature, a chunk running past the end, a
        bad CRC, or no IEND.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise FormError("unreadable_input", "not a PNG image (no PNG signature)")
    offset = len(PNG_SIGNATURE)
    first = True
    while True:
        if offset + 8 > len(data):
            raise FormError("unreadable_input", "the PNG ends before its IEND chunk")
        length, kind = struct.unpack_from(">I4s", data, offset)
        end = offset + 8 + length + 4
        # The length is bounded by the bytes really present, so no chunk can claim more memory
        # than the (already size-capped) input holds.
        if length > 0x7FFFFFFF or end > len(data):
            raise FormError("unreadable_input", f"the PNG chunk {kind!r} runs past the end of the image")
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(kind + body) != crc:
            raise FormError("unreadable_input", f"the PNG chunk {kind!r} has a wrong CRC (damaged image)")
        if first and kind != b"IHDR":
            raise FormError("unreadable_input", "the PNG does not start with an IHDR chunk")
        first = False
        yield kind, body
        if kind == b"IEND":
            return
        offset = end


def _itxt_text(body: bytes, *, max_text: int) -> tuple[bytes, str]:
    """(keyword, text) of an iTXt chunk body.

    Layout: keyword NUL flag method language NUL translated-keyword NUL text.
    """
    try:
        keyword, rest = body.split(b"\0", 1)
        flag, method, rest = rest[0], rest[1], rest[2:]
        _language, rest = rest.split(b"\0", 1)
        _translated, text = rest.split(b"\0", 1)
    except (ValueError, IndexError):
        raise FormError("unreadable_input", "a PNG iTXt chunk is malformed") from None
    if keyword != PNG_KEYWORD:
        return keyword, ""
    if flag == 1:
        if method != 0:
            raise FormError("unreadable_input", f"the credential chunk uses unknown compression method {method}")
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, max_text + 1)
        except zlib.error as error:
            raise FormError("unreadable_input", f"the credential chunk does not decompress: {error}") from None
        if len(text) > max_text or inflater.unconsumed_tail:
            raise FormError("input_too_large", f"the credential in the PNG is larger than {max_text} bytes")
    elif flag != 0:
        raise FormError("unreadable_input", f"the credential chunk has compression flag {flag}")
    if len(text) > max_text:
        raise FormError("input_too_large", f"the credential in the PNG is larger than {max_text} bytes")
    try:
        return keyword, text.decode("utf-8")
    except UnicodeDecodeError:
        raise FormError("unreadable_input", "the credential chunk is not UTF-8 text") from None


def extract_png(data: bytes, *, max_text: int = MAX_TEXT) -> str:
    """The text of the PNG's `openbadgecredential` iTXt chunk.

    The whole image up to IEND is read, not just up to the first chunk as the spec allows: a second
    credential chunk would let a viewer show one credential while we verify another, so it is
    refused.

    :raise FormError: unreadable_input, input_too_large, multiple_credentials,
        baked_image_without_credential.
    """
    found, ob2 = None, False
    for kind, body in png_chunks(data):
        if kind != b"iTXt":
            continue
        keyword, text = _itxt_text(body, max_text=max_text)
        if keyword == PNG_KEYWORD:
            if found is not None:
                raise FormError("multiple_credentials", "the PNG holds more than one openbadgecredential chunk")
            found = text
        ob2 = ob2 or keyword == OB2_PNG_KEYWORD
    if found is None:
        raise FormError("baked_image_without_credential", _no_credential_message("PNG", ob2))
    return found


def bake_png(png_bytes: bytes, credential_text: str) -> bytes:
    """`png_bytes` with an uncompressed `openbadgecredential` iTXt chunk inserted before IEND.

    `credential_text` is the credential's JSON or a compact JWS. The image is checked (CRCs) on
    the way; an image already holding a credential is refused rather than silently overwritten.

    :raise FormError: the image is not a readable PNG or already holds a credential.
    """
    chunks = list(png_chunks(png_bytes))
    if any(kind == b"iTXt" and body.startswith(PNG_KEYWORD + b"\0") for kind, body in chunks):
        raise FormError("multiple_credentials", "the PNG already holds an openbadgecredential chunk")
    body = PNG_KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + credential_text.encode("utf-8")
    out = [PNG_SIGNATURE]
    for kind, chunk_body in chunks:
        if kind == b"IEND":
            out.append(_png_chunk(b"iTXt", body))
        out.append(_png_chunk(kind, chunk_body))
    return b"".join(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# --- SVG ---------------------------------------------------------------------------------------

# The DOCTYPEs the W3C published for SVG (public id, system id); the 1.1 one is what most drawing
# programs export. They add no entities of their own that a badge needs, so they are skipped.
STANDARD_SVG_DOCTYPES = frozenset({
    ("-//W3C//DTD SVG 1.1//EN", "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"),
    ("-//W3C//DTD SVG 1.1 Basic//EN", "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11-basic.dtd"),
    ("-//W3C//DTD SVG 1.1 Tiny//EN", "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11-tiny.dtd"),
    ("-//W3C//DTD SVG 1.0//EN", "http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd"),
    ("-//W3C//DTD SVG 20010904//EN", "http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd"),
})
# No internal subset: nothing but the two quoted ids between "<!DOCTYPE svg PUBLIC" and ">".
_DOCTYPE = re.compile(r"""<!DOCTYPE\s+svg\s+PUBLIC\s+(["'])(?P<public>[^"'<>\[\]]*)\1\s+(["'])(?P<system>[^"'<>\[\]]*)\3\s*>""")


def _standard_doctype(text: str) -> re.Match | None:
    """The standard SVG DOCTYPE in the prolog of `text`, if that is what stands there."""
    position = 0
    while match := _PROLOG_ITEM.match(text, position):
        position = match.end()
    doctype = _DOCTYPE.match(text, position)
    if doctype and (doctype.group("public"), doctype.group("system")) in STANDARD_SVG_DOCTYPES:
        return doctype
    return None


def svg_standard_doctype(text: str) -> bool:
    """Whether the SVG `text` starts with a standard SVG DOCTYPE (which reading skips)."""
    return _standard_doctype(text) is not None


def _without_standard_doctype(text: str) -> str:
    """`text` with a standard SVG DOCTYPE blanked out (same length, so offsets stay)."""
    doctype = _standard_doctype(text)
    if doctype is None:
        return text
    return text[:doctype.start()] + " " * (doctype.end() - doctype.start()) + text[doctype.end():]


def parse_svg(text: str):
    """The root element of the SVG document `text`.

    :raise FormError: unreadable_input for bad XML, any DTD (refused, so no entity tricks), or a
        root that is not `svg`.
    """
    try:
        root = defusedxml.ElementTree.fromstring(_without_standard_doctype(text), forbid_dtd=True)
    except (ParseError, DefusedXmlException) as error:
        raise FormError("unreadable_input", f"not a readable SVG image: {error}") from None
    if root.tag not in (f"{{{SVG_NAMESPACE}}}svg", "svg"):
        raise FormError("unreadable_input", f"the XML root is {root.tag}, not svg")
    return root


def extract_svg(text: str) -> str:
    """The credential text of the SVG's `openbadges:credential` element: its `verify` attribute
    (a VC-JWT) or else its body (CDATA or plain text, both are element text to XML).

    :raise FormError: unreadable_input, multiple_credentials, baked_image_without_credential.
    """
    root = parse_svg(text)
    elements = list(root.iter(CREDENTIAL_TAG))
    if len(elements) > 1:
        raise FormError("multiple_credentials", "the SVG holds more than one openbadges:credential element")
    if not elements:
        ob2 = next(root.iter(OB2_ASSERTION_TAG), None) is not None
        raise FormError("baked_image_without_credential", _no_credential_message("SVG", ob2))
    element = elements[0]
    verify = (element.get("verify") or "").strip()
    body = (element.text or "").strip()
    if verify and body:
        raise FormError("multiple_credentials", "the openbadges:credential element has both a verify attribute and a body")
    if not (verify or body):
        raise FormError("baked_image_without_credential", "the openbadges:credential element is empty")
    return verify or body


_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.S)
_ROOT_START = re.compile(r"<(?P<name>(?:[A-Za-z_][\w.-]*:)?svg)(?=[\s/>])")
_ATTRIBUTE_OR_END = re.compile(r"""\s*(?:(?P<end>/?>)|[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))""")


def bake_svg(svg_text: str, credential_text: str) -> str:
    """`svg_text` with an `<openbadges:credential>` element as the root's first child, and the
    `xmlns:openbadges` declaration added to the root start tag.

    A compact JWS goes in the `verify` attribute, anything else (the credential's JSON) in a CDATA
    body. The rest of the document is left byte for byte as it was (no re-serialization, which
    would rename namespace prefixes and reformat the image).

    :raise FormError: the SVG is unreadable, already holds a credential, or binds the
        `openbadges` prefix to another namespace.
    """
    root = parse_svg(svg_text)
    if next(root.iter(CREDENTIAL_TAG), None) is not None:
        raise FormError("multiple_credentials", "the SVG already holds an openbadges:credential element")
    start, name, end, self_closing = _root_start_tag(_without_standard_doctype(svg_text))
    tag = svg_text[start:end]
    declared = re.search(r"""\sxmlns:openbadges\s*=\s*(["'])(.*?)\1""", tag)
    if declared and declared.group(2) != OB_NAMESPACE:
        raise FormError("unreadable_input", "the SVG binds the openbadges prefix to another namespace")
    head = tag[: -2 if self_closing else -1].rstrip()
    if not declared:
        head += f' xmlns:openbadges="{OB_NAMESPACE}"'
    text = credential_text.strip()
    if looks_like_jwt(text):
        element = f'<openbadges:credential verify="{text}"></openbadges:credential>'
    else:
        # "]]>" cannot stand inside CDATA; split it across two sections.
        body = credential_text.replace("]]>", "]]]]><![CDATA[>")
        element = f"<openbadges:credential><![CDATA[{body}]]></openbadges:credential>"
    closing = f"</{name}>" if self_closing else ""
    return svg_text[:start] + head + ">" + element + closing + svg_text[end:]


def _root_start_tag(text: str) -> tuple[int, str, int, bool]:
    """(start, qualified name, end, self-closing) of the root element's start tag.

    The prolog (XML declaration, comments, processing instructions) is skipped; a DOCTYPE never
    gets here: `parse_svg` refused it, or it was the standard one, blanked out by the caller. Attribute values are skipped whole, so a `>` inside
    one does not end the tag.
    """
    position = 0
    while match := _PROLOG_ITEM.match(text, position):
        position = match.end()
    root = _ROOT_START.match(text, position)
    if root is None:
        raise FormError("unreadable_input", "cannot find the svg start tag")
    position = root.end()
    while True:
        match = _ATTRIBUTE_OR_END.match(text, position)
        if match is None:
            raise FormError("unreadable_input", "cannot read the svg start tag")
        position = match.end()
        if match.group("end"):
            return root.start(), root.group("name"), position, match.group("end") == "/>"


def _no_credential_message(kind: str, ob2: bool) -> str:
    if ob2:
        return f"the {kind} holds an Open Badges 2.0 assertion, not an Open Badges 3.0 credential"
    return f"the {kind} image has no baked Open Badges 3.0 credential"
