#!/usr/bin/env bash
# Run the W3C interoperability suites against `badges serve` behind TLS.
#
#   interop/w3c/run.sh SUITES_DIR [SUITE...]
#
# SUITES_DIR holds checkouts of w3c/vc-di-eddsa-test-suite, w3c/vc-di-ecdsa-test-suite,
# w3c/vc-data-model-2.0-test-suite and w3c/vc-bitstring-status-list-test-suite, each with
# `npm install` done (their GitHub-only dependencies w3c/vc-test-suite-implementations and
# w3c-ccg/data-integrity-test-suite-assertion may be local checkouts: `file:../<name>` in
# package.json, `npm install --install-links`; the ecdsa suite's package-lock.json pins the GitHub
# one, so remove it first, and its postinstall clones w3c/vc-di-ecdsa into tests/input/vc-di-ecdsa,
# which a checkout can replace). SUITE names a subset (eddsa, ecdsa, vc2, status).
#
# It makes a throwaway instance (https://localhost:$PORT, a self-signed certificate), one did:key
# issuer per key type (Ed25519, and P-256/P-384 when this build issues ECDSA), an instance token,
# writes each suite's localConfig.cjs (the vc-test-suite-implementations format), starts
# `badges serve --certfile --keyfile`, runs the suites and prints "suite: passed/total".
# Nothing is sent anywhere but localhost (the suites fetch nothing else).
set -euo pipefail

SUITES_DIR=$(cd "${1:?usage: run.sh SUITES_DIR [eddsa|ecdsa|vc2|status]...}" && pwd)
shift
WANTED=("$@")
[ ${#WANTED[@]} -eq 0 ] && WANTED=(eddsa status vc2 ecdsa)
REPO=${BADGES_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
PORT=${PORT:-40443}
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export BADGES_INSTANCE_PATH="$WORK/instance"
export BADGES_BASE_URL="https://localhost:$PORT"
export BADGES_DATABASE_URL="sqlite:///$WORK/instance/badges.sqlite3"
export NODE_TLS_REJECT_UNAUTHORIZED=0   # our certificate is self-signed
export BADGES_THROTTLE_ENABLED=false    # the suites send bursts from one address
badges() { "$PYTHON" -m issuer.cli "$@"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

if curl -ks -o /dev/null "https://localhost:$PORT/"; then echo "port $PORT is in use; set PORT" >&2; exit 2; fi
mkdir -p "$BADGES_INSTANCE_PATH"
badges db upgrade >/dev/null
TOKEN=$(badges token create | tail -n 1)
issuer() {  # slug key-type -> the issuer's DID (empty when this build cannot make that key type)
  local args=(issuer create --slug "$1" --name "W3C suites $2" --url "https://localhost:$PORT/" --did-method key)
  [ "$2" != Ed25519 ] && args+=(--key-type "$2")
  badges "${args[@]}" 2>/dev/null | grep -o 'did:key:[A-Za-z0-9]*' | head -n 1 || true
}
ED25519=$(issuer w3c-ed25519 Ed25519)
P256=$(issuer w3c-p256 P-256)
P384=$(issuer w3c-p384 P-384)

# Started directly (not through the shell function) so that $! is the server's own process.
"$PYTHON" -m issuer.cli serve --host 127.0.0.1 --port "$PORT" --workers 1 --threads 16 \
  --certfile "$WORK/cert.pem" --keyfile "$WORK/key.pem" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  curl -ksf "https://localhost:$PORT/api/openapi.json" -o /dev/null && break
  sleep 1
done
curl -ksf "https://localhost:$PORT/api/openapi.json" -o /dev/null || { cat "$WORK/serve.log"; exit 2; }

# localConfig.cjs: one implementation with every issuer and one verifier per tag.
config() {  # tag(s) as a JSON array, then issuer entries as JSON objects
  local tags=$1; shift
  local issuers; issuers=$(IFS=,; echo "$*")
  cat <<JS
module.exports = {
  settings: {enableInteropTests: false, testAllImplementations: false},
  implementations: [{
    name: 'Badges', implementation: 'badges (local)',
    issuers: [${issuers}],
    verifiers: [{id: 'https://localhost:$PORT/credentials/verify', endpoint: 'https://localhost:$PORT/credentials/verify',
                 supportedEcdsaKeyTypes: ['P-256', 'P-384'], supports: {vc: ['1.1', '2.0']}, tags: $tags}],
    vpVerifiers: [{id: 'https://localhost:$PORT/presentations/verify', endpoint: 'https://localhost:$PORT/presentations/verify',
                   supports: {vc: ['1.1', '2.0']}, tags: $tags}],
    vcHolders: []
  }]
};
JS
}
issuer_entry() {  # did tags [key type]
  local extra=""
  [ -n "${3:-}" ] && extra="supportedEcdsaKeyTypes: ['$3'],"
  echo "{id: '$1', endpoint: 'https://localhost:$PORT/credentials/issue', $extra supports: {vc: ['1.1', '2.0']},
    headers: {Authorization: 'Bearer $TOKEN'}, tags: $2}"
}

declare -A FOLDER=([eddsa]=vc-di-eddsa-test-suite [ecdsa]=vc-di-ecdsa-test-suite
  [vc2]=vc-data-model-2.0-test-suite [status]=vc-bitstring-status-list-test-suite)
SUMMARY=()
for suite in "${WANTED[@]}"; do
  dir="$SUITES_DIR/${FOLDER[$suite]}"
  case $suite in
    eddsa) config "['eddsa-rdfc-2022']" "$(issuer_entry "$ED25519" "['eddsa-rdfc-2022']")" ;;
    status) config "['BitstringStatusList']" "$(issuer_entry "$ED25519" "['BitstringStatusList']")" ;;
    vc2) config "['vc2.0']" "$(issuer_entry "$ED25519" "['vc2.0']")" ;;
    ecdsa)
      if [ -z "$P256" ] || [ -z "$P384" ]; then SUMMARY+=("ecdsa: not run (this build issues no ECDSA keys)"); continue; fi
      config "['ecdsa-rdfc-2019']" "$(issuer_entry "$P256" "['ecdsa-rdfc-2019']" P-256)" \
        "$(issuer_entry "$P384" "['ecdsa-rdfc-2019']" P-384)" ;;
  esac >"$dir/localConfig.cjs"
  (cd "$dir" && npx mocha tests/ --timeout 30000 --preserve-symlinks --reporter json \
     >"$WORK/$suite.json" 2>"$WORK/$suite.err") || true
  counts=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const s = r.stats;
    console.log(`${s.passes}/${s.passes + s.failures} passed` + (s.pending ? `, ${s.pending} pending (skipped by the suite)` : ""));
    for (const f of r.failures) console.error(`  FAIL ${f.fullTitle}\n       ${(f.err.message || "").split("\n")[0]}`);
  ' "$WORK/$suite.json" 2>"$WORK/$suite.failures") || counts="no result (see $dir, mocha: $(tail -n 3 "$WORK/$suite.err"))"
  SUMMARY+=("$suite: $counts")
  echo "== $suite: $counts"
  cat "$WORK/$suite.failures"
  [ -n "${KEEP_LOGS:-}" ] && cp "$WORK/$suite.json" "$KEEP_LOGS/$suite.json"
done
echo
printf '%s\n' "${SUMMARY[@]}"
