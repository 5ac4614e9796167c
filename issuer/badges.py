"""Badge images for credentials: the achievement's uploaded image or a generated one, baked with
the signed credential (Open Badges 3.0 "Baking") for the earner to download.

The generated badge is drawn twice from the same layout: as SVG text and as a PNG with Pillow
(its bundled default font, so no system font is needed). Colours are dark enough that white text
on them passes WCAG AAA (contrast above 7:1).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import textwrap
import unicodedata
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from issuer.images import PNG, SVG, png_size
from verifier.forms.baked import bake_png, bake_svg

SIZE = 512
# (background, ring) pairs; white text on each background has contrast above 7:1.
PALETTE = [("#1d3557", "#a8dadc"), ("#264d30", "#b7e4c7"), ("#5a189a", "#e0aaff"),
           ("#7b2d26", "#f4d35e"), ("#1b4965", "#cae9ff"), ("#3d405b", "#f2cc8f")]
TEXT_COLOUR = "#ffffff"
NAME_FONT_SIZE = 40
ISSUER_FONT_SIZE = 24
NAME_LINE_CHARS = 16  # the SVG's wrap width: about what fits the circle at NAME_FONT_SIZE
MAX_NAME_LINES = 4


@dataclass(frozen=True)
class BadgeArt:
    """What a generated badge shows."""

    name: str
    issuer_name: str
    seed: str  # picks the colours: the same achievement always looks the same

    @property
    def colours(self) -> tuple[str, str]:
        digest = hashlib.sha256(self.seed.encode("utf-8")).digest()
        return PALETTE[digest[0] % len(PALETTE)]


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """`text` over at most `max_lines` lines of about `width` characters; the last line ends in
    an ellipsis when something was cut."""
    lines = textwrap.wrap(" ".join(text.split()), width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(width - 1, 1)].rstrip() + "\u2026"
    return lines


# Characters XML 1.0 cannot hold at all, escaped or not (names are not checked for them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def generated_svg(art: BadgeArt) -> str:
    """A 512x512 SVG badge: a ringed circle, the achievement name in the middle, the issuer below."""
    art = replace(art, name=_NOT_XML.sub("", art.name), issuer_name=_NOT_XML.sub("", art.issuer_name))
    background, ring = art.colours
    centre = SIZE // 2
    lines = wrap(art.name, NAME_LINE_CHARS, MAX_NAME_LINES)
    line_height = NAME_FONT_SIZE * 1.2
    first_y = centre - 20 - (len(lines) - 1) * line_height / 2
    name = "".join(
        f'<tspan x="{centre}" y="{first_y + i * line_height:.0f}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    issuer = escape(wrap(art.issuer_name, 28, 1)[0])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}" '
        f'role="img">'
        f"<title>{escape(art.name)} ({escape(art.issuer_name)})</title>"
        f'<circle cx="{centre}" cy="{centre}" r="248" fill="{ring}"/>'
        f'<circle cx="{centre}" cy="{centre}" r="228" fill="{background}"/>'
        f'<g fill="{TEXT_COLOUR}" font-family="Arial, Helvetica, sans-serif" text-anchor="middle" dominant-baseline="middle">'
        f'<text font-size="{NAME_FONT_SIZE}" font-weight="bold">{name}</text>'
        f'<text x="{centre}" y="{SIZE - 110}" font-size="{ISSUER_FONT_SIZE}">{issuer}</text>'
        f"</g></svg>"
    )


def generated_png(art: BadgeArt) -> bytes:
    """The same badge as `generated_svg`, drawn by Pillow; text is wrapped by its measured width."""
    background, ring = art.colours
    image = Image.new("RGB", (SIZE, SIZE), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=ring)
    draw.ellipse((28, 28, SIZE - 28, SIZE - 28), fill=background)
    name_font = ImageFont.load_default(size=NAME_FONT_SIZE)
    issuer_font = ImageFont.load_default(size=ISSUER_FONT_SIZE)
    lines = _wrap_measured(draw, drawable(art.name, name_font), name_font, max_width=340, max_lines=MAX_NAME_LINES)
    line_height = NAME_FONT_SIZE * 1.2
    first_y = SIZE / 2 - 20 - (len(lines) - 1) * line_height / 2
    for i, line in enumerate(lines):
        draw.text((SIZE / 2, first_y + i * line_height), line, font=name_font, fill=TEXT_COLOUR, anchor="mm")
    issuer = _wrap_measured(draw, drawable(art.issuer_name, issuer_font), issuer_font, max_width=300, max_lines=1)[0]
    draw.text((SIZE / 2, SIZE - 110), issuer, font=issuer_font, fill=TEXT_COLOUR, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def drawable(text: str, font) -> str:
    """`text` with each character the font has no glyph for folded to ASCII when it can be
    (Pillow's bundled font covers little beyond ASCII: "Zürich" is drawn "Zurich"); characters
    that fold to nothing stay, and show as the font's missing-glyph box."""
    missing = bytes(font.getmask("\uffff"))
    out = []
    for char in text:
        if char.isascii() or bytes(font.getmask(char)) != missing:
            out.append(char)
            continue
        folded = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
        out.append(folded or char)
    return "".join(out)


def _wrap_measured(draw, text: str, font, *, max_width: int, max_lines: int) -> list[str]:
    """Words over lines no wider than `max_width` pixels; a word too long alone is cut, and the
    last line ends in an ellipsis when something did not fit."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(_fit(draw, word, font, max_width))
    lines = lines or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _fit(draw, lines[-1] + "\u2026", font, max_width, ellipsis=True)
    return lines


# More than fits on a badge anyway; a longer name (the VC API signs what it is given) would only
# cost time to measure, on a public URL.
MAX_TEXT = 200


def _fit(draw, text: str, font, max_width: int, *, ellipsis: bool = False) -> str:
    text = text[:MAX_TEXT]
    if draw.textlength(text, font=font) <= max_width:
        return text
    body = text.removesuffix("\u2026")
    while body and draw.textlength(body + "\u2026", font=font) > max_width:
        body = body[:-1]
    return body + "\u2026" if (ellipsis or body != text) else body


def png_in_svg(png: bytes) -> str:
    """An SVG showing `png` at its own size, embedded as a data: URI (for badge.svg when the
    uploaded image is a PNG)."""
    width, height = png_size(png)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<image width="{width}" height="{height}" href="data:image/png;base64,{data}"/></svg>'
    )


def badge_png(*, image_data: bytes | None, media_type: str | None, art: BadgeArt) -> bytes:
    """The PNG to bake: the uploaded PNG, else the generated badge (an uploaded SVG is not
    rasterised: that would need an SVG renderer)."""
    if image_data is not None and media_type == PNG:
        return image_data
    return generated_png(art)


def badge_svg(*, image_data: bytes | None, media_type: str | None, art: BadgeArt) -> str:
    """The SVG to bake: the uploaded (sanitised) SVG, an uploaded PNG wrapped in SVG, else the
    generated badge."""
    if image_data is not None and media_type == SVG:
        return image_data.decode("utf-8")
    if image_data is not None and media_type == PNG:
        return png_in_svg(image_data)
    return generated_svg(art)


def credential_text(document: dict) -> str:
    """The signed credential as baked: its JSON, as served (a verifier reads the same object)."""
    # ASCII: the same object, and no character that XML forbids can reach the SVG.
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


def baked_png(document: dict | str, png: bytes) -> bytes:
    """`png` with the credential baked in: a JSON-LD document, or a VC-JWT (a str) as it is."""
    return bake_png(png, document if isinstance(document, str) else credential_text(document))


def baked_svg(document: dict | str, svg: str) -> bytes:
    """`svg` with the credential baked in: JSON-LD in the element's body, a VC-JWT (a str) in its `verify` attribute."""
    return bake_svg(svg, document if isinstance(document, str) else credential_text(document)).encode("utf-8")


def download_name(name: str, credential_id: str, extension: str) -> str:
    """A file name safe in any header and file system: the achievement name in ASCII, lower
    case, and the credential id that makes it unique."""
    words = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-")
    return f"{words or 'badge'}-{credential_id}.{extension}"
