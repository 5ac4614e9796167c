"""Achievement images as issuers upload them: checked, and made safe to serve and to bake.

A PNG is checked from its header before anything is decoded (signature, IHDR, dimensions), then
decoded whole by Pillow and stored re-encoded: no metadata chunk of the upload survives (nor an
earlier baked credential, which would make a second one). An SVG is parsed by defusedxml with DTDs
refused (so no entity expansion and no external entities), then rebuilt from an allow-list of
elements and attributes: nothing that runs script, loads anything from elsewhere or embeds other
documents survives.

Limits, for both types: at most `MAX_IMAGE_BYTES`; each side `MIN_SIDE`..`MAX_SIDE` pixels (the
image need not be square). An SVG's size is its `width`/`height` in pixels, else its `viewBox`.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape, quoteattr

import defusedxml.ElementTree
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_BYTES = 512 * 1024
MIN_SIDE = 64
MAX_SIDE = 2048

PNG = "image/png"
SVG = "image/svg+xml"
MEDIA_TYPES = (PNG, SVG)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"


class ImageError(Exception):
    """An upload we refuse. `code`: unsupported_image_type, image_too_large, image_invalid or
    image_dimensions."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CheckedImage:
    """What to store: the image as it will be served, and its type."""

    data: bytes
    media_type: str
    width: int
    height: int


def check_image(data: bytes, media_type: str) -> CheckedImage:
    """The upload `data`, sent as `media_type`, made safe to store.

    The content must be what the type says: a PNG sent as image/svg+xml is refused, not guessed.

    :raise ImageError: the type is neither PNG nor SVG, the image is too large, unreadable or
        unsafe in a way we cannot clean, or its sides are outside the limits.
    """
    if media_type not in MEDIA_TYPES:
        raise ImageError("unsupported_image_type", f"send a PNG (image/png) or an SVG (image/svg+xml) image, not {media_type or 'no type'}")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError("image_too_large", f"the image is {len(data)} bytes; at most {MAX_IMAGE_BYTES} are accepted")
    if not data:
        raise ImageError("image_invalid", "the request body is empty; send the image as the body")
    if media_type == PNG:
        return check_png(data)
    return sanitise_svg(data)


def _check_sides(width: float, height: float) -> None:
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ImageError("image_dimensions", f"the image is {width:g}x{height:g} pixels; "
                         f"each side must be between {MIN_SIDE} and {MAX_SIDE}")


# --- PNG ---------------------------------------------------------------------------------------

def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, read by hand before any decoding.

    :raise ImageError: image_invalid when there is no PNG signature or no valid IHDR first.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("image_invalid", "this is not a PNG image (no PNG signature)")
    header = data[8:33]
    if len(header) < 25:
        raise ImageError("image_invalid", "the PNG ends before its IHDR chunk")
    length, kind = struct.unpack(">I4s", header[:8])
    body, (crc,) = header[8:21], struct.unpack(">I", header[21:25])
    if length != 13 or kind != b"IHDR" or zlib.crc32(kind + body) != crc:
        raise ImageError("image_invalid", "the PNG does not start with a valid IHDR chunk")
    return struct.unpack(">II", body[:8])


def check_png(data: bytes) -> CheckedImage:
    """A PNG decoded whole and re-encoded without its metadata chunks."""
    width, height = png_size(data)
    # The sides are checked before decoding, so no decompression bomb gets to Pillow: 2048x2048
    # is far below its own bomb threshold (Image.MAX_IMAGE_PIXELS), which stays as a second guard.
    _check_sides(width, height)
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()  # decodes every row: a truncated or damaged image fails here
            if image.size != (width, height):
                raise ImageError("image_invalid", "the PNG's size does not match its header")
            clean = io.BytesIO()
            image.save(clean, format="PNG", icc_profile=None)  # no metadata survives, colour profiles included
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, zlib.error) as error:
        raise ImageError("image_invalid", f"the PNG cannot be decoded: {error}") from None
    return CheckedImage(clean.getvalue(), PNG, width, height)


# --- SVG ---------------------------------------------------------------------------------------

# Drawing, text, gradients, clipping, masks and a few filters. Not here, on purpose: script,
# foreignObject, a (links), animate/set (can rewrite href), iframe/video/audio, and anything in
# another namespace (editor metadata).
SVG_ELEMENTS = frozenset("""
    svg g defs title desc symbol use path rect circle ellipse line polyline polygon text tspan
    textPath linearGradient radialGradient stop clipPath mask pattern image style marker filter
    feBlend feColorMatrix feComposite feDropShadow feFlood feGaussianBlur feMerge feMergeNode
    feOffset
""".split())

SVG_ATTRIBUTES = frozenset("""
    id class style version x y x1 y1 x2 y2 cx cy r rx ry fx fy width height viewBox
    preserveAspectRatio d points pathLength transform fill fill-opacity fill-rule stroke stroke-width
    stroke-opacity stroke-linecap stroke-linejoin stroke-dasharray stroke-dashoffset stroke-miterlimit
    opacity color display visibility clip-path clip-rule mask filter marker-start marker-mid
    marker-end markerWidth markerHeight markerUnits refX refY orient font-family font-size
    font-weight font-style font-variant text-anchor dominant-baseline alignment-baseline
    baseline-shift letter-spacing word-spacing text-decoration writing-mode dx dy rotate
    textLength lengthAdjust startOffset offset stop-color stop-opacity gradientUnits
    gradientTransform spreadMethod clipPathUnits maskUnits maskContentUnits patternUnits
    patternContentUnits patternTransform filterUnits primitiveUnits stdDeviation in in2 result
    mode operator k1 k2 k3 k4 values type flood-color flood-opacity vector-effect paint-order
    shape-rendering text-rendering image-rendering href
""".split())

# Attributes in other namespaces that may stay (the rest, e.g. editor data, go).
NAMESPACED_ATTRIBUTES = frozenset({f"{{{XLINK_NS}}}href", f"{{{XML_NS}}}space", f"{{{XML_NS}}}lang"})

# A same-document reference, or an embedded raster image; nothing that leaves the document.
_SAFE_HREF = re.compile(r"#[A-Za-z_][\w.:-]*|data:image/(?:png|jpeg);base64,[A-Za-z0-9+/=\s]*")
# url(...) is allowed in presentation attributes only as a same-document reference, url(#id).
_FOREIGN_URL = re.compile(r"url\(\s*(?!#[A-Za-z_][\w.:-]*\s*\))", re.I)
# CSS that can reach out (url(), @import), run code (expression(), behaviors, bindings), or hide
# either behind escapes.
_UNSAFE_CSS = re.compile(r"url\(|image-set|src\(|@import|expression\(|javascript:|behavior|-moz-binding|\\", re.I)
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(px)?\s*")


def sanitise_svg(data: bytes) -> CheckedImage:
    """The SVG rebuilt with only allowed elements and attributes, as UTF-8.

    Refused outright (image_invalid): bad XML, a DOCTYPE (so no entity expansion), a root that
    is not an SVG `svg` element. Removed silently: everything the allow-lists do not name, href
    values that leave the document, and styles that could fetch or run anything.
    """
    try:
        root = defusedxml.ElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise ImageError("image_invalid", "the SVG has a DOCTYPE; SVG images with a DTD are refused") from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise ImageError("image_invalid", "the SVG declares entities; they are refused") from None
    except (ParseError, DefusedXmlException, ValueError, LookupError) as error:  # LookupError: unknown encoding
        raise ImageError("image_invalid", f"the SVG is not well-formed XML: {error}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ImageError("image_invalid", f'the root element must be <svg xmlns="{SVG_NS}">, not {root.tag}')
    try:
        _clean(root)
        cleaned = serialise_svg(root).encode("utf-8")
    except RecursionError:
        raise ImageError("image_invalid", "the SVG nests its elements too deeply") from None
    width, height = svg_size(root)
    _check_sides(width, height)
    if len(cleaned) > MAX_IMAGE_BYTES:  # escaping can make the rebuilt SVG larger than the upload
        raise ImageError("image_too_large", f"the SVG is larger than {MAX_IMAGE_BYTES} bytes once rebuilt")
    return CheckedImage(cleaned, SVG, round(width), round(height))


def _clean(element) -> None:
    """Remove disallowed children (with all they hold) and attributes, depth first."""
    for child in list(element):
        local = _svg_local_name(child.tag)
        # A <style> holding markup is dropped whole: removing the markup could join its text
        # around it into CSS that was never checked (ur<x/>l( -> url().
        if local not in SVG_ELEMENTS or (local == "style" and (len(child) or _UNSAFE_CSS.search(child.text or ""))):
            _remove(element, child)
            continue
        _clean(child)
    for name in list(element.attrib):
        if not _attribute_allowed(name, element.attrib[name]):
            del element.attrib[name]
    if _svg_local_name(element.tag) == "style":
        # CSS is text only: drop any markup nested in it (the text itself was checked above).
        element.text = "".join(element.itertext())
        for child in list(element):
            element.remove(child)


def _remove(parent, child) -> None:
    """Remove `child` and all it holds, keeping the text that follows it (its tail)."""
    if child.tail:
        index = list(parent).index(child)
        if index:
            previous = parent[index - 1]
            previous.tail = (previous.tail or "") + child.tail
        else:
            parent.text = (parent.text or "") + child.tail
    parent.remove(child)


def _svg_local_name(tag) -> str | None:
    """The local name of an element in the SVG namespace; None for any other element (and for
    comments or processing instructions, whose tag is not a string)."""
    if isinstance(tag, str) and tag.startswith(f"{{{SVG_NS}}}"):
        return tag[len(SVG_NS) + 2:]
    return None


def _attribute_allowed(name: str, value: str) -> bool:
    if name.startswith("{"):
        if name not in NAMESPACED_ATTRIBUTES:
            return False
    elif name not in SVG_ATTRIBUTES:
        return False  # on* event handlers among them
    if name.endswith("href"):
        return _SAFE_HREF.fullmatch(value.strip()) is not None
    if name == "style":
        return _UNSAFE_CSS.search(value) is None
    # Presentation attributes are CSS values too: no escapes, no url() but url(#id).
    return "\\" not in value and _FOREIGN_URL.search(value) is None


def serialise_svg(root) -> str:
    """The cleaned tree as text, SVG as the default namespace and xlink under its usual prefix.
    (ElementTree's own writer would invent ns0: prefixes; this tree holds nothing else.)"""
    prefixes = {f"{{{XLINK_NS}}}": "xlink:", f"{{{XML_NS}}}": "xml:"}
    uses_xlink = any(name.startswith(f"{{{XLINK_NS}}}") for element in root.iter() for name in element.attrib)
    parts: list[str] = []

    def write(element, declarations: str = "") -> None:
        name = _svg_local_name(element.tag)
        attributes = "".join(f" {_prefixed(key, prefixes)}={quoteattr(value)}" for key, value in element.attrib.items())
        parts.append(f"<{name}{declarations}{attributes}>{escape(element.text or '')}")
        for child in element:
            write(child)
            parts.append(escape(child.tail or ""))
        parts.append(f"</{name}>")

    declarations = f' xmlns="{SVG_NS}"' + (f' xmlns:xlink="{XLINK_NS}"' if uses_xlink else "")
    write(root, declarations)
    return "".join(parts)


def _prefixed(name: str, prefixes: dict[str, str]) -> str:
    for namespace, prefix in prefixes.items():
        if name.startswith(namespace):
            return prefix + name[len(namespace):]
    return name


def svg_size(root) -> tuple[float, float]:
    """The SVG's size in pixels: `width` and `height` when both are plain or px lengths, else the
    `viewBox` width and height.

    :raise ImageError: image_dimensions when neither gives a size.
    """
    width, height = _length(root.get("width")), _length(root.get("height"))
    if width is not None and height is not None:
        return width, height
    view_box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        numbers = [float(part) for part in view_box]
    except ValueError:
        numbers = []
    if len(numbers) == 4 and all(abs(n) < 1e9 for n in numbers):
        return numbers[2], numbers[3]
    raise ImageError("image_dimensions", "the SVG must give its size: width and height in pixels, or a viewBox")


def _length(value: str | None) -> float | None:
    match = _LENGTH.fullmatch(value or "")
    return float(match.group(1)) if match else None
