"""The admin console at /admin: server-rendered pages for people (no JavaScript needed).

Sign-in is by email and password (issuer/people), with a TOTP code when the user enrolled one;
the session is the signed cookie set up in issuer/websession.py, and every form carries a CSRF
token. Pages only read, and act through the services the API uses (issuer/lifecycle.py,
issuer/auth.py, issuer/audit.py)."""

from issuer.console.views import bp  # noqa: F401
