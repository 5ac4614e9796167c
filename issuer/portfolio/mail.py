"""The sign-in link's email, sent by the queue's `sign_in_link` job (issuer/queue.py), never during
the request: the POST on /me does the same work for every well-formed address (it puts this job on
the queue), so its response time does not tell which addresses hold credentials here.

The job carries the address only; it makes the one-time token itself, so the plain token is never
in the queue's storage (only its SHA-256 is in the database, and the link in the email).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from issuer import notify
from issuer.db import transaction
from issuer.portfolio import services as portfolio

log = logging.getLogger(__name__)

# The path of views.confirm (GET /me/sign-in/<token>); the job runs outside any request.
SIGN_IN_PATH = "/me/sign-in/"


def send_sign_in_link(services, config, email: str) -> bool:
    """Mail a new one-time sign-in link to `email` when credentials were issued to it here;
    whether an email was sent. Without SMTP_HOST nothing is sent and a warning is logged (the log
    is read by others: a link there would let them in)."""
    email = portfolio.read_email(email)
    if email is None:
        return False
    with services.sessionmaker() as session:
        if not portfolio.credentials_of(session, email):
            return False
        try:
            transport = notify.transport_from_config(config)
            settings = notify.settings_from_config(config)
        except notify.ConfigError as error:
            log.error("sign-in link not sent: %s", error)
            return False
        if not transport.delivers:
            log.warning("sign-in link not sent: no SMTP_HOST is set")
            return False
        now = services.clock()
        minutes = int(config["PORTFOLIO_LINK_MINUTES"])
        with transaction(session):
            token = portfolio.new_sign_in_link(session, email, now=now, lifetime=timedelta(minutes=minutes))
    link = services.urls.base_url.rstrip("/") + SIGN_IN_PATH + token
    message = EmailMessage()
    message["Subject"] = "Your sign-in link"
    message["From"] = formataddr(("Badges", settings.mail_from))
    message["To"] = email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        "Hello,\n\nSomeone (we hope you) asked to see the credentials issued to this address. Open this link "
        f"to sign in:\n{link}\n\nIt works once, within {minutes} minutes. If you did not "
        "ask for it, ignore this email: nobody can sign in without the link.\n")
    try:
        transport.send(message)
    except notify.MailError as error:
        log.error("sign-in link not sent: %s", error)
        return False
    return True
