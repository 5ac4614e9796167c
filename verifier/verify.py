"""The entry point: a credential in any accepted form in, a report out.

`Verifier` holds what varies (document loader, DID resolver, fetcher, clock, policy); its
`verify_credential` runs the checks of `verifier.checks` in order. Nothing here raises for a bad
credential; only a caller's mistake (a naive clock, say) raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from verifier.checks.context import check_context
from verifier.checks.format import check_format
from verifier.checks.integrity import check_integrity
from verifier.checks.issuer import check_issuer, issuer_id
from verifier.checks.proof import check_proof
from verifier.checks.schema import check_schema
from verifier.checks.trust import check_trust
from verifier.checks.validity import check_validity
from verifier.checks.status import check_status
from verifier.fetcher import FetchError, Fetcher
from verifier.forms import FormError, read_input
from verifier.forms.jsontext import check_json_shape
from verifier.forms.jwt import verify_jwt
from verifier.forms.jwtkeys import did_key_lookup
from verifier.presentation import check_presentation, credentials_in
from verifier.report import CheckResult, Report, timestamp
from verifier.resolvers import DidResolver, ResolutionError
from verifier.statuscache import StatusListCache, content_version

DEFAULT_SKEW = timedelta(minutes=5)
# A proof set larger than this is an attack on our time (each proof may resolve a DID), not a need.
MAX_PROOFS = 8
# A ClrCredential embedding more credentials than this is refused (each costs a full verification).
MAX_NESTED_CREDENTIALS = 200
FETCH_ACCEPT = "application/vc+ld+json, application/ld+json, application/json, application/jwt, image/png, image/svg+xml"


def _fetch_nothing(url: str) -> dict:
    raise FetchError(f"this verifier fetches nothing, so {url} cannot be read")


@dataclass(frozen=True)
class Policy:
    max_clock_skew: timedelta = DEFAULT_SKEW
    # None: no registry is configured, and the trust check is skipped.
    trusted_issuers: frozenset[str] | None = None
    check_status: bool = True


@dataclass(frozen=True)
class _Run:
    """What one verification shares, whatever it recurses into (status lists, the credentials of
    a presentation): one fetch budget, and a resolver fetching within it."""

    resolver: DidResolver
    fetch_json: Callable[[str], dict]
    ttl_for: Callable | None
    # The bytes at a URL (related resources), within the same budget; None: nothing is fetched.
    fetch_bytes: Callable[[str], bytes] | None = None


@dataclass(frozen=True)
class Verifier:
    document_loader: Callable
    resolver: DidResolver
    clock: Callable[[], datetime]
    policy: Policy = field(default_factory=Policy)
    # The guarded fetcher for status lists, URLs and (through the resolver) did:web documents;
    # None: nothing is fetched (status lists are then indeterminate, which fails the status check).
    fetcher: Fetcher | None = None
    # Documents the verifier's own host holds (a service's own status lists): `url -> dict`, or
    # None for a URL it does not hold. Asked before anything is fetched, so a service verifies its
    # own credentials without HTTP to itself and sees a status change at once.
    local_documents: Callable[[str], dict | None] | None = None
    # Status list credentials already verified, by content version (None: each is verified at
    # every use). Shared by every verification, so it must be (and StatusListCache is) thread-safe;
    # one cache per document loader (what it skipped checking was checked with this verifier's).
    status_list_cache: StatusListCache | None = None

    # --- entry points: each is one verification, with its own fetch budget ---------------------

    def verify_input(self, data, *, filename: str | None = None, content_type: str | None = None) -> Report:
        """Check a credential in any accepted form: a JSON-LD object or text, a JWT, a baked PNG or SVG."""
        return self._input(data, self._start(), filename=filename, content_type=content_type)

    def verify_url(self, url: str) -> Report:
        """Fetch a credential (any form) through the guarded fetcher, then check it."""
        if self.fetcher is None:
            return Report((CheckResult.failed("format", "fetch_refused", "this verifier fetches nothing"),), self._now())
        run, budget = self._start_with_budget()
        try:
            document = budget.fetch(url, accept=FETCH_ACCEPT)
        except FetchError as error:
            return Report((CheckResult.failed("format", error.code, f"could not fetch {url}: {error}"),), self._now())
        return self._input(document.body, run, content_type=document.content_type)

    def verify_credential(self, credential, *, check_status: bool | None = None) -> Report:
        """Check a JSON-LD credential. With several proofs (a proof set), each must verify."""
        return self._credential(credential, self._start(), check_status=check_status)

    def verify_presentation(self, presentation: dict, *, challenge: str | None, domain: str | None) -> dict:
        """The presentation's own checks and a report for every credential in it."""
        now = self._now()
        run = self._start()
        try:
            check_json_shape(presentation)
        except FormError as error:
            own = [CheckResult.failed("format", error.code, error.message)]
            return {"verified": False, "presentation": {"checks": [c.to_dict() for c in own]},
                    "credentials": [], "checked_at": timestamp(now)}
        own = check_presentation(
            presentation, resolver=run.resolver, document_loader=self.document_loader, challenge=challenge, domain=domain,
        )
        reports = [self._input(credential, run) for credential in credentials_in(presentation)]
        verified = all(c.status != "failed" for c in own) and any(c.check == "proof" and c.status == "passed" for c in own)
        return {
            "verified": verified and all(r.verified for r in reports),
            "presentation": {"checks": [c.to_dict() for c in own]},
            "credentials": [r.to_dict() for r in reports],
            "checked_at": timestamp(now),
        }

    # --- one verification -------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise TypeError("the clock must give timezone-aware datetimes")
        return now

    def _start(self) -> _Run:
        return self._start_with_budget()[0]

    def _start_with_budget(self):
        if self.fetcher is None:
            return _Run(_ResolvedOnce(self.resolver), self._local_first(_fetch_nothing), None), None
        budget = self.fetcher.budget()
        bounded = getattr(self.resolver, "bounded", None)
        resolver = bounded(budget.fetch_json) if bounded else self.resolver
        return _Run(_ResolvedOnce(resolver), self._local_first(budget.fetch_json), self.fetcher.ttl_for,
                    lambda url: budget.fetch(url, accept="*/*").body), budget

    def _local_first(self, fetch_json: Callable[[str], dict]) -> Callable[[str], dict]:
        local = self.local_documents
        if local is None:
            return fetch_json

        def fetch(url: str) -> dict:
            document = local(url)
            return document if document is not None else fetch_json(url)

        return fetch

    def _input(self, data, run: _Run, *, filename: str | None = None, content_type: str | None = None) -> Report:
        try:
            parsed = read_input(data, filename=filename, content_type=content_type)
        except FormError as error:
            return Report((CheckResult.failed("format", error.code, error.message),), self._now())
        if parsed.jwt is not None:
            return self._jwt(parsed.jwt, run, relaxed=parsed.relaxed)
        return self._credential(parsed.credential, run, relaxed=parsed.relaxed, shape_checked=True)

    def _credential(self, credential, run: _Run, *, check_status: bool | None = None,
                    relaxed: tuple[tuple[str, str], ...] = (), nested: bool = False,
                    shape_checked: bool = False) -> Report:
        """:param shape_checked: `read_input` has bounded the credential (or the record holding it)."""
        now = self._now()
        try:
            # a library caller's dict or a fetched status list is bounded like any input
            if not shape_checked:
                check_json_shape(credential)
        except FormError as error:
            return Report((CheckResult.failed("format", error.code, error.message),), now)
        checks = [_relaxed(check_format(credential), relaxed)]
        if checks[0].status == "failed":
            return Report(tuple(checks), now, _summary(credential) if isinstance(credential, dict) else {})
        checks.append(check_context(credential, document_loader=self.document_loader))
        checks.append(check_schema(credential, fetch_json=run.fetch_json))
        checks.extend(self._proofs(credential, now, run))
        integrity = check_integrity(credential, run.fetch_bytes)
        if integrity is not None:
            checks.append(integrity)
        checks.extend(self._after_proof(credential, now, run, check_status))
        if not nested and is_clr(credential):
            return Report(tuple(checks), now, _summary(credential), self._embedded(credential, run))
        return Report(tuple(checks), now, _summary(credential))

    def _embedded(self, clr: dict, run: _Run) -> tuple[Report, ...]:
        """A report for every credential a ClrCredential embeds (JSON-LD or a VC-JWT), checked as
        if given alone, within this verification's fetch budget. A record inside a record is
        checked as a credential, its own embedded ones not descended into."""
        items = embedded_credentials(clr)
        if len(items) > MAX_NESTED_CREDENTIALS:
            failure = CheckResult.failed("format", "too_many_credentials",
                                         f"{len(items)} embedded credentials; at most {MAX_NESTED_CREDENTIALS} are checked")
            return (Report((failure,), self._now()),)
        reports = []
        for item in items:
            if isinstance(item, str):
                try:
                    parsed = read_input(item)
                except FormError as error:
                    reports.append(Report((CheckResult.failed("format", error.code, error.message),), self._now()))
                    continue
                if parsed.jwt is not None:
                    reports.append(self._jwt(parsed.jwt, run))
                    continue
                item = parsed.credential
            reports.append(self._credential(item, run, nested=True, shape_checked=True))
        return tuple(reports)

    def _jwt(self, token: str, run: _Run, *, relaxed: tuple[tuple[str, str], ...] = ()) -> Report:
        now = self._now()
        result = verify_jwt(token, resolve_key=did_key_lookup(run.resolver), now=now, skew=self.policy.max_clock_skew)
        if result.credential is None:
            return Report((result.proof,), now)
        credential = result.credential
        checks = [_relaxed(CheckResult.passed("format", "an Open Badges JWT credential"), relaxed + result.relaxed)]
        checks.append(check_context(credential, document_loader=self.document_loader))
        checks.append(check_schema(credential, fetch_json=run.fetch_json))
        checks.extend([result.issuer, result.proof])
        checks.extend(self._after_proof(credential, now, run, None))
        return Report(tuple(checks), now, _summary(credential))

    def _after_proof(self, credential: dict, now: datetime, run: _Run, check_status: bool | None) -> list[CheckResult]:
        checks = [check_validity(credential, now=now, skew=self.policy.max_clock_skew)]
        if self.policy.check_status if check_status is None else check_status:
            checks.append(self._status(credential, now, run))
        else:
            checks.append(CheckResult.skipped("status", "status is not checked by this verifier's policy"))
        checks.append(check_trust(credential, self.policy.trusted_issuers))
        return checks

    def _status(self, credential: dict, now: datetime, run: _Run) -> CheckResult:
        if "credentialStatus" not in credential:
            return CheckResult.skipped("status", "the credential has no status to check")
        issuer = issuer_id(credential)
        # each list's content version (a hash of its whole JSON) found once per verification, though
        # both its proof check and its bit lookup need it; the list is held, so its id stays its own
        versions: dict[int, tuple[dict, str]] = {}

        def version_of(list_credential: dict) -> str:
            known = versions.get(id(list_credential))
            if known is None:
                known = versions[id(list_credential)] = (list_credential, content_version(list_credential))
            return known[1]

        def verify_list(list_credential: dict) -> tuple[bool, str]:
            """A status list must verify on its own (not its own status) and come from the
            credential's issuer: a list signed by anyone else could unrevoke anything."""
            if issuer_id(list_credential) != issuer:
                return False, f"it is issued by {issuer_id(list_credential)}, not by the credential's issuer {issuer}"
            report = self._list_report(list_credential, now, run, version_of)
            failed = [c for c in report.checks if c.status == "failed"]
            return report.verified, "; ".join(f"{c.check}: {c.message}" for c in failed)

        return check_status(credential, fetch_json=run.fetch_json, verify_list_credential=verify_list, now=now,
                            ttl_for=run.ttl_for, skew=self.policy.max_clock_skew, cache=self.status_list_cache,
                            version_of=version_of)

    def _list_report(self, list_credential: dict, now: datetime, run: _Run,
                     version_of: Callable[[dict], str] = content_version) -> Report:
        """A status list credential's report (its own status not checked). A version already
        verified skips what depends on its content alone (format, context, schema, signature) if
        its issuer still lists the key it verified with; the rest is checked as at every use."""
        cache = self.status_list_cache
        proof = list_credential.get("proof")
        if cache is None or not isinstance(proof, dict):  # proof sets and oddities: checked in full
            return self._credential(list_credential, run, check_status=False)
        version = version_of(list_credential)
        known_key = cache.verified_key(version)
        if known_key is not None:
            issuer_result, public_key = check_issuer(list_credential, proof, run.resolver)
            if issuer_result.status == "passed" and _key_bytes(public_key) == known_key:
                proof_result = CheckResult.passed("proof", "the signature of this exact list verified before")
                checks = [issuer_result, proof_result, *self._after_proof(list_credential, now, run, False)]
                return Report(tuple(checks), now, _summary(list_credential))
        report = self._credential(list_credential, run, check_status=False)
        if report.verified:
            issuer_result, public_key = check_issuer(list_credential, proof, run.resolver)  # resolved once per run
            if issuer_result.status == "passed" and public_key is not None:
                cache.remember(version, _key_bytes(public_key))
        return report

    def _proofs(self, credential: dict, now: datetime, run: _Run) -> list[CheckResult]:
        """The `issuer` and `proof` checks, over every proof; the first failure of each is reported."""
        proofs = credential["proof"] if isinstance(credential["proof"], list) else [credential["proof"]]
        if len(proofs) > MAX_PROOFS:
            failure = CheckResult.failed("proof", "too_many_proofs", f"{len(proofs)} proofs; at most {MAX_PROOFS} are checked")
            return [CheckResult.skipped("issuer", "too many proofs to check"), failure]
        issuer_results, proof_results = [], []
        for proof in proofs:
            if not isinstance(proof, dict):
                proof_results.append(CheckResult.failed("proof", "malformed_proof", "a proof is not an object"))
                continue
            issuer_result, public_key = check_issuer(credential, proof, run.resolver)
            issuer_results.append(issuer_result)
            if public_key is None:
                proof_results.append(CheckResult.skipped("proof", "no key to check the signature with"))
            elif any(result.status == "failed" for result in proof_results):
                # the report shows the first failure; canonicalizing again (a bomb, up to 8 times) only costs time
                continue
            else:
                proof_results.append(check_proof(
                    credential, proof, public_key, document_loader=self.document_loader, now=now,
                    skew=self.policy.max_clock_skew,
                ))
        return [_issuer_of_set(issuer_results), _first_failure(proof_results, "proof")]


def _issuer_of_set(results: list[CheckResult]) -> CheckResult:
    """The `issuer` check of a proof set or chain: some proof is by a key of the issuer, and every
    other proof by a key its own controller authorizes (a witness, a notary, a later holder of a
    chain). Every proof must still verify (the `proof` check). One proof is checked as it is."""
    by_issuer = [r for r in results if r.status == "passed"]
    others = [r for r in results if r.status != "passed"]
    if len(results) < 2 or not by_issuer or any(r.code != "issuer_key_mismatch" for r in others):
        return _first_failure(results, "issuer")
    if not others:
        return by_issuer[0]
    return CheckResult.passed("issuer", f"{by_issuer[0].message}; {len(others)} more proof(s) by other signers "
                                        "(" + "; ".join(r.message for r in others) + ")")


def is_clr(credential: dict) -> bool:
    types = credential.get("type")
    return "ClrCredential" in (types if isinstance(types, list) else [types])


def embedded_credentials(clr: dict) -> list:
    """The `verifiableCredential` items of a ClrCredential's subject (one subject, or each of several)."""
    subjects = clr.get("credentialSubject")
    items = []
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        value = subject.get("verifiableCredential") if isinstance(subject, dict) else None
        if isinstance(value, list):
            items.extend(value)
        elif value is not None:
            items.append(value)
    return items


def verify_credential(credential, *, document_loader, resolver: DidResolver, now: datetime,
                      skew: timedelta = DEFAULT_SKEW) -> Report:
    """One-off verification at a fixed instant (see `Verifier`)."""
    return Verifier(document_loader, resolver, lambda: now, Policy(max_clock_skew=skew)).verify_credential(credential)


class _ResolvedOnce:
    """A resolver for one verification: each DID is resolved once, however many proofs and
    status lists name it, and every check of the verification sees the same document. Nothing
    outlives the verification, so a key rotation is seen by the next one."""

    def __init__(self, resolver: DidResolver):
        self._resolver = resolver
        self._answers: dict[str, dict | ResolutionError] = {}

    def resolve(self, did: str) -> dict:
        if did not in self._answers:
            try:
                self._answers[did] = self._resolver.resolve(did)
            except ResolutionError as error:
                self._answers[did] = error
        answer = self._answers[did]
        if isinstance(answer, ResolutionError):
            raise answer
        return answer


def _relaxed(result: CheckResult, relaxed) -> CheckResult:
    """A passed `format` check as a warning naming what was read leniently (the first code)."""
    if not relaxed or result.status != "passed":
        return result
    notes = "; ".join(message for _code, message in relaxed)
    return CheckResult(result.check, "warning", relaxed[0][0], f"{result.message} ({notes})")


def _key_bytes(public_key) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _first_failure(results: list[CheckResult], name: str) -> CheckResult:
    for status in ("failed", "skipped"):
        found = next((r for r in results if r.status == status), None)
        if found:
            return found
    return results[0] if results else CheckResult.failed(name, "no_proof", "no proof to check")


def _summary(credential: dict) -> dict:
    issuer = credential.get("issuer")
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    return {
        "id": credential.get("id"),
        "name": credential.get("name"),
        "issuer": {"id": issuer_id(credential), "name": issuer.get("name") if isinstance(issuer, dict) else None},
        "achievement": achievement.get("name") if isinstance(achievement, dict) else None,
        "validFrom": credential.get("validFrom") or credential.get("issuanceDate"),
        "validUntil": credential.get("validUntil") or credential.get("expirationDate"),
    }
