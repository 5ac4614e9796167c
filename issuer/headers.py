"""Security headers on every answer.

HTML pages get a Content-Security-Policy that loads nothing from elsewhere and allows no inline
code: the pages' only inline content is the `<style>` block of each template, allowed by its
SHA-256 hash. The hashes are computed from the templates when the app is built, so a style can be
edited without touching this module; any other inline style or script is refused by the browser.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, request

_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)
# Everything else (JSON, JSON-LD, problem bodies) is never a document to render or frame.
NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'"


def style_hashes(app: Flask) -> list[str]:
    """The CSP source of every `<style>` block in the app's templates (blueprints included)."""
    env = app.jinja_env
    hashes = set()
    for name in env.list_templates(extensions=["html"]):
        source, _, _ = env.loader.get_source(env, name)
        for block in _STYLE_BLOCK.findall(source):
            digest = hashlib.sha256(block.encode("utf-8")).digest()
            hashes.add(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return sorted(hashes)


def page_policy(app: Flask) -> str:
    return "; ".join([
        "default-src 'none'",
        f"style-src {' '.join(style_hashes(app))}",
        "img-src 'self' data:",  # badge images and QR codes are ours
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ])


def init_app(app: Flask) -> None:
    """Call after every blueprint with templates is registered."""
    policy = page_policy(app)
    hsts_max_age = int(app.config["HSTS_MAX_AGE_SECONDS"])

    @app.after_request
    def _security_headers(response):
        # setdefault: a route with a stricter need (the management page, uploaded SVGs) keeps its own.
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", policy)
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Referrer-Policy", "same-origin")
        else:
            headers.setdefault("Content-Security-Policy", NON_HTML_POLICY)
        # request.is_secure is true over TLS, or behind a proxy the app is told to trust.
        if request.is_secure and hsts_max_age > 0:
            headers.setdefault("Strict-Transport-Security", f"max-age={hsts_max_age}")
        return response
