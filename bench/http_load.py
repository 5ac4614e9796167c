"""HTTP throughput of `badges serve` (gunicorn) under a real load generator, wrk.

    python bench/http_load.py [--seconds 5] [--workers N] [--threads N] [--database-url URL]

Needs `wrk` (Debian: `apt-get install -y wrk`). Starts `badges serve` on a fresh instance in a
temporary folder (SQLite unless --database-url), on the same machine as wrk, issues the typical
credential (a did:web issuer, one alignment, one evidence, its revocation entry),
then runs wrk (2 threads, --latency) against:

| row | request | clients | bar |
| --- | --- | --- | --- |
| baseline | `GET /no-such-page`: the cheapest answer the app gives (a 404 problem body) | 32 | none |
| verify | `POST /api/v1/verify` `{"credential": <the typical credential>}` | 32 | 1,000/s, p99 <= 100 ms |
| status | `GET /status/<id>` | 32 | 3,000/s |
| status 304 | the same with a matching `If-None-Match` | 32 | 3,000/s |
| results | `POST /api/v1/achievements/<id>/results`, each a new passing result | 8 | 150/s, p99 <= 250 ms |

The baseline shows what the server and the machine manage at that moment (wrk shares the cores
with the server), so each row also prints its ratio to it. Checks first that the credential
verifies and that a result is issued; any answer with an unexpected status during a run fails
its row, and so does a verification answered with anything but `"verified":true`. Prints one table; exits 1 when a row is below its bar.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.issuer.live import request  # noqa: E402

ACHIEVEMENT = {
    "name": "Python Basics", "description": "Writes and tests small Python programs.",
    "criteria": {"narrative": "Score 70 or more in the Python basics exam."},
    "achievement_type": "Badge", "passing_score": 70, "max_score": 100, "valid_for": "P1Y",
    "alignments": [{"target_name": "Programming", "target_url": "https://example.org/skills/programming",
                    "target_framework": "Example Skills", "target_code": "PRG-1", "target_type": "ext:Skill"}],
}


def result(external_id: str) -> dict:
    return {"external_id": external_id, "recipient": {"email": "ada@example.org"}, "score": 85,
            "completed_at": "2026-11-25T10:00:00Z",
            "evidence": [{"id": "https://lms.example.org/attempts/42", "name": "Exam attempt"}]}


def call(method: str, url: str, *, token=None, body=None) -> tuple[int, dict, bytes]:
    return request(method, url, token=token, body=body, timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, port: int, workers: int | None, threads: int | None,
                 database_url: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGES_")}
    env.update({"BADGES_INSTANCE_PATH": str(folder / "instance"), "PYTHONPATH": str(ROOT),
                # Every request comes from one address here: limits far above the load keep the
                # limiter's own cost in what is measured without refusing the load generator.
                "BADGES_THROTTLE_PUBLIC": "10000000 per minute",
                "BADGES_THROTTLE_API_PER_TOKEN": "10000000 per minute",
                "BADGES_THROTTLE_API_PER_ADDRESS": "10000000 per minute"})
    if database_url:
        env["BADGES_DATABASE_URL"] = database_url
        subprocess.run([sys.executable, "-c", "from issuer.cli import main; main()", "db", "upgrade"],
                       env=env, cwd=ROOT, check=True, capture_output=True)
    command = [sys.executable, "-c", "from issuer.cli import main; main()", "serve", "--port", str(port),
               "--token-file", str(folder / "token")]
    if workers:
        command += ["--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=open(folder / "server.log", "w"))
    deadline = time.monotonic() + 60
    while True:
        try:
            call("GET", f"http://127.0.0.1:{port}/issuers/default")
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the server did not start:\n{(folder / 'server.log').read_text()}")
            time.sleep(0.2)


# wrk counts answers that are not 2xx or 3xx; this counts answers of another status than the one
# expected (a 404 baseline, a 304) or without an expected text (a verification that did not
# verify), and prints the count for bench/http_load.py.
LUA = """
expected = %(expected)d
unexpected = 0
local threads = {}
function setup(thread)
    thread:set("id", #threads + 1)
    table.insert(threads, thread)
end
%(request)s
expected_text = %(expected_text)s
function response(status, headers, body)
    if status ~= expected or (expected_text and not string.find(body, expected_text, 1, true)) then
        unexpected = unexpected + 1
        if unexpected == 1 then example = status .. " " .. string.sub(body, 1, 300) end
    end
end
function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("unexpected")
        if thread:get("example") then io.write("EXAMPLE " .. thread:get("example") .. "\\n") end
    end
    io.write(string.format("UNEXPECTED %%d\\n", total))
end
"""

STATIC = """
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
"""

# A new external_id per request, so every one issues a credential (the same one again would be a
# replay, answered from the first).
RESULTS = """
counter = 0
template = %(template)s
function request()
    counter = counter + 1
    local body = string.format(template, id .. "-" .. counter)
    return wrk.format("POST", nil, {["Content-Type"] = "application/json",
                                     ["Authorization"] = %(authorization)s}, body)
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run_wrk(url: str, *, clients: int, seconds: float, expected: int, folder: Path, name: str,
            method="GET", body="", headers: dict | None = None, request: str | None = None,
            expected_text: str | None = None) -> dict:
    if request is None:
        request = STATIC % {
            "method": lua_string(method), "body": lua_string(body) if body else "nil",
            "headers": "\n".join(f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in (headers or {}).items()),
        }
    script = folder / f"{name}.lua"
    script.write_text(LUA % {"expected": expected, "request": request,
                             "expected_text": lua_string(expected_text) if expected_text else "nil"})
    threads = min(2, clients)
    # A short warm-up first (connections, caches, the status list signed once), not measured.
    subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", "1s", "-s", str(script), url],
                   check=True, capture_output=True)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--latency",
                          "--timeout", "10s", "-s", str(script), url], check=True, capture_output=True, text=True).stdout
    if "UNEXPECTED" not in out:
        sys.exit(f"wrk's script did not report:\n{out}\n{script.read_text()}")
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "unexpected": int(re.search(r"UNEXPECTED (\d+)", out).group(1)),
        "example": (re.findall(r"^EXAMPLE (.*)$", out, re.MULTILINE) or [None])[0],
        "errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
    }


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each measured run")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: badges serve's, one per core)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: badges serve's, 32)")
    parser.add_argument("--database-url", help="a PostgreSQL URL instead of the SQLite default")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        folder = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(folder, port, args.workers, args.threads, args.database_url)
        try:
            token = (folder / "token").read_text().strip()
            status, _, body = call("POST", f"{base}/api/v1/issuers/default/achievements", token=token, body=ACHIEVEMENT)
            assert status == 201, body
            achievement = json.loads(body)["id"]
            status, _, body = call("POST", f"{base}/api/v1/achievements/{achievement}/results", token=token,
                                   body=result("typical"))
            assert status == 201, body
            credential = json.loads(body)["credential"]
            # The first fetch of a list signs it, with validFrom at the second it was signed: a
            # verification that began in an earlier second would find it not yet valid.
            entries = credential["credentialStatus"]
            for entry in entries if isinstance(entries, list) else [entries]:
                status, headers, _ = call("GET", entry["statusListCredential"])
                assert status == 200
            status_url, etag = entry["statusListCredential"], headers["ETag"]
            time.sleep(1.1)
            # One at a time first, so each worker has built what its first verification builds
            # (~0.3 s of CPU); 32 first verifications at once in a cold worker each build it, and
            # the stall would fill the measured seconds (a cold start, not the steady rate measured here).
            for _ in range(12):
                status, _, body = call("POST", f"{base}/api/v1/verify", body={"credential": credential})
                assert status == 200 and json.loads(body)["verified"] is True, body
            template = json.dumps(result("%s"))
            rows = [
                ("baseline: GET /no-such-page (404)", 32, None, None,
                 dict(url=f"{base}/no-such-page", expected=404)),
                ("POST /api/v1/verify", 32, 1000, 100,
                 dict(url=f"{base}/api/v1/verify", expected=200, expected_text='"verified":true', method="POST",
                      body=json.dumps({"credential": credential}), headers={"Content-Type": "application/json"})),
                ("GET /status/<id>", 32, 3000, None, dict(url=status_url, expected=200)),
                ("GET /status/<id>, If-None-Match (304)", 32, 3000, None,
                 dict(url=status_url, expected=304, headers={"If-None-Match": etag})),
                ("POST .../results (single, new each)", 8, 150, 250,
                 dict(url=f"{base}/api/v1/achievements/{achievement}/results", expected=201,
                      request=RESULTS % {"template": lua_string(template),
                                         "authorization": lua_string(f"Bearer {token}")})),
            ]
            measured = []
            for index, (name, clients, bar_rate, bar_p99, options) in enumerate(rows):
                measured.append(run_wrk(clients=clients, seconds=args.seconds, folder=folder, name=f"run{index}",
                                        **options))
        finally:
            server.terminate()
            server.wait(timeout=30)

    baseline = measured[0]["rate"]
    print(f"badges serve (gunicorn, workers {args.workers or 'default'}, threads {args.threads or 'default'}) and wrk on {os.cpu_count()} cores, "
          f"{args.seconds:g} s per row, {'PostgreSQL' if args.database_url else 'SQLite'}")
    print(f"| what | clients | req/s | vs baseline | p99 ms | bar | result |")
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    failed = False
    examples = []
    for (name, clients, bar_rate, bar_p99, _), row in zip(rows, measured):
        ok = row["unexpected"] == 0 and row["errors"] == 0
        ok = ok and (bar_rate is None or row["rate"] >= bar_rate) and (bar_p99 is None or row["p99_ms"] <= bar_p99)
        bar = " ".join(filter(None, [bar_rate and f">= {bar_rate:,}/s", bar_p99 and f"p99 <= {bar_p99} ms"])) or "-"
        problems = f" ({row['unexpected']} unexpected answers, {row['errors']} socket errors)" \
            if row["unexpected"] or row["errors"] else ""
        if row["example"]:
            examples.append(f"{name}: {row['example']}")
        verdict = "-" if bar == "-" and not problems else ("PASS" if ok else "FAIL") + problems
        failed = failed or verdict.startswith("FAIL")
        print(f"| {name} | {clients} | {row['rate']:,.0f} | x{row['rate'] / baseline:.2f} | {row['p99_ms']:.1f} "
              f"| {bar} | {verdict} |")
    for example in examples:
        print(f"first unexpected answer of {example}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
