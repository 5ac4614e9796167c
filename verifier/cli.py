"""`badges verify PATH|URL|-`: check a credential offline (the network only when the credential
needs it: a did:web issuer, a status list, or a URL given), without a server or a database."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from dataintegrity import bundled_document_loader
from verifier.fetcher import Fetcher, FetchPolicy
from verifier.report import Report
from verifier.resolvers import Resolver
from verifier.verify import Policy, Verifier

# Codes that mean "this input could not be read as a credential at all" (exit 2), as opposed to
# a credential that was read and did not verify (exit 1).
UNREADABLE = {"unreadable_input", "not_a_credential", "not_an_object", "input_too_large", "json_too_deep",
              "json_too_many_nodes", "malformed_jwt", "baked_image_without_credential", "fetch_failed",
              "fetch_refused", "fetch_too_large", "fetch_timeout", "fetch_status", "fetch_limit"}


def build_verifier(*, allow_http_loopback: bool = False, check_status: bool = True) -> Verifier:
    fetcher = Fetcher(FetchPolicy(allow_http_loopback=allow_http_loopback))
    return Verifier(
        document_loader=bundled_document_loader(),
        resolver=Resolver.through(fetcher),
        clock=lambda: datetime.now(timezone.utc),
        policy=Policy(check_status=check_status),
        fetcher=fetcher,
    )


def render(report: Report) -> str:
    data = report.to_dict()
    summary = data.get("credential") or {}
    title = summary.get("name") or summary.get("id") or "credential"
    issuer = (summary.get("issuer") or {}).get("name") or (summary.get("issuer") or {}).get("id")
    lines = [f"{'VERIFIED' if data['verified'] else 'NOT VERIFIED'}: {title}" + (f", issued by {issuer}" if issuer else "")]
    for check in data["checks"]:
        code = f" [{check['code']}]" if check.get("code") else ""
        lines.append(f"  {check['status']:8} {check['check']:9} {check['message']}{code}")
    for index, nested in enumerate(report.credentials or (), 1):
        # each embedded credential of a ClrCredential, indented under the record
        lines.append(f"  credential {index} of {len(report.credentials)}:")
        lines.extend("    " + line for line in render(nested).splitlines())
    return "\n".join(lines)


def exit_code(report: Report) -> int:
    if report.verified:
        return 0
    first = report.checks[0] if report.checks else None
    return 2 if first is not None and first.status == "failed" and first.code in UNREADABLE else 1


@click.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--allow-http-loopback", is_flag=True,
              help="allow plain HTTP to loopback (a local instance): URLs, status lists, did:web on 127.0.0.1")
@click.option("--no-status", is_flag=True,
              help="do not fetch status lists (offline); the status check is reported as skipped")
def verify(source: str, as_json: bool, allow_http_loopback: bool, no_status: bool):
    """Verify a credential from a file, a URL, or - (standard input).

    Exit status: 0 verified, 1 not verified, 2 could not be read.
    """
    verifier = build_verifier(allow_http_loopback=allow_http_loopback, check_status=not no_status)
    if source.startswith(("https://", "http://")):
        report = verifier.verify_url(source)
    else:
        try:
            data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as error:
            click.echo(f"cannot read {source}: {error.strerror or error}", err=True)
            sys.exit(2)
        report = verifier.verify_input(data, filename=None if source == "-" else Path(source).name)
    code = exit_code(report)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif code == 2:
        # Nothing was read, so no check below the first has anything to say: one line.
        unread = report.checks[0]
        click.echo(f"NOT VERIFIED: cannot read {source}: {unread.message} [{unread.code}]")
    else:
        click.echo(render(report))
    sys.exit(code)
