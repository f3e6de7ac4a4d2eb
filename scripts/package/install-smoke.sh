#!/usr/bin/env bash
# `npm run test:package`: pack this checkout, install the tarball into an empty project the way
# a user would, start `npx inferd serve` on the example models the package carries, check it
# (ready, a REST infer, gRPC), and stop it with SIGTERM: it must exit 0 with its `shut down` line.
# Prints PASS/FAIL lines and the tarball's size; exits 1 on a failure.
#
# Environment:
#   NPM_INSTALL_FLAGS  flags for `npm install` (default --prefer-offline: the registry is asked
#                      only for what npm's cache lacks; --offline works when the cache has it all)
#   KEEP_TMP=1         keep the temporary folder
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

# onnxruntime-node's postinstall downloads its CUDA providers from NuGet on Linux x64 unless
# told not to, and a failed download fails the install. The CPU binaries are in its package.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
NPM_INSTALL_FLAGS="${NPM_INSTALL_FLAGS:---prefer-offline}"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/inferd-package.XXXXXX")"
NPX_PID=""
failed=0
pass() { echo "PASS $*"; }
fail() {
  echo "FAIL $*"
  failed=1
}
cleanup() {
  if [[ -n "$NPX_PID" ]]; then kill -KILL -- "-$NPX_PID" 2>/dev/null || true; fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "install-smoke: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# 1. Pack (`prepare` builds a clean dist/ first).
npm pack --pack-destination "$TMP" --json >"$TMP/pack.json" 2>"$TMP/pack.log" || {
  cat "$TMP/pack.log" >&2
  echo "install-smoke: npm pack failed" >&2
  exit 1
}
TARBALL="$TMP/$(node -p 'require(process.argv[1])[0].filename' "$TMP/pack.json")"
read -r size unpacked entries < <(node -p \
  'const [p] = require(process.argv[1]); [p.size, p.unpackedSize, p.entryCount].join(" ")' "$TMP/pack.json")
echo "install-smoke: $(basename "$TARBALL"): $((size / 1000)) kB packed, $((unpacked / 1000)) kB unpacked, $entries files"

# 2. Install into an empty project.
mkdir "$TMP/app"
cd "$TMP/app"
npm init -y >/dev/null
start=$(date +%s)
# shellcheck disable=SC2086 # NPM_INSTALL_FLAGS is a word list
if npm install $NPM_INSTALL_FLAGS --no-audit --no-fund "$TARBALL" >"$TMP/install.log" 2>&1; then
  pass "npm install $NPM_INSTALL_FLAGS $(basename "$TARBALL") in $(($(date +%s) - start)) s"
else
  fail "npm install $NPM_INSTALL_FLAGS $(basename "$TARBALL"); its log:"
  tail -n 30 "$TMP/install.log" | sed 's/^/  /'
  exit 1
fi
if grep -q 'Unknown .*config' "$TMP/install.log"; then
  fail "npm warned about an unknown config:"
  grep 'Unknown .*config' "$TMP/install.log" | sed 's/^/  /'
fi
EXAMPLES="$TMP/app/node_modules/inferd/examples/models"

# 3. Serve the example models on free ports.
read -r HTTP_PORT GRPC_PORT < <(node -e '
  const net = require("node:net");
  const one = () => new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
  (async () => { const ps = new Set(); while (ps.size < 2) ps.add(await one()); console.log([...ps].join(" ")); })();')
# setsid: its own process group, so that cleanup can end npx, its shell and the server at once.
setsid npx --no inferd serve -m "$EXAMPLES" --host 127.0.0.1 --http-port "$HTTP_PORT" --grpc-port "$GRPC_PORT" \
  --metrics-port off --batch-dir "$TMP/batches" >"$TMP/serve.log" 2>&1 &
NPX_PID=$!
echo "install-smoke: npx inferd serve -m node_modules/inferd/examples/models on REST :$HTTP_PORT, gRPC :$GRPC_PORT"

cd "$ROOT"
if ! node scripts/container/check-server.mjs --http "127.0.0.1:$HTTP_PORT" --grpc "127.0.0.1:$GRPC_PORT" --ready-timeout 60; then
  failed=1
fi

# 4. SIGTERM to the server: it drains and exits 0, and npx passes that exit code on.
# (npx runs `sh -c inferd ...`, which runs node. Signalling npx itself instead makes npm exit
# at once with 143 and leave the server draining on its own: under a process supervisor, run
# node_modules/.bin/inferd directly.)
SERVER_PID="$(ps -o pid=,args= -g "$NPX_PID" | awk '$2 == "node" && $3 ~ /\/\.bin\/inferd$/ && $4 == "serve" { print $1 }')"
if [[ -z "$SERVER_PID" ]]; then
  fail "SIGTERM: no server process under npx:"
  ps -o pid=,args= -g "$NPX_PID" | sed 's/^/  /'
else
  kill -TERM "$SERVER_PID"
  code=0
  timeout 30 tail --pid "$NPX_PID" -f /dev/null || true
  if kill -0 "$NPX_PID" 2>/dev/null; then
    fail "SIGTERM: still running 30 s after the signal"
  else
    wait "$NPX_PID" || code=$?
    NPX_PID=""
    if [[ $code -eq 0 ]]; then pass "SIGTERM: npx inferd serve exit code 0"; else fail "SIGTERM: exit code $code"; fi
  fi
fi
if grep -q '"msg":"shut down"' "$TMP/serve.log"; then
  pass "SIGTERM: log has the server's \"shut down\" line"
else
  fail "SIGTERM: no \"shut down\" line in the log; its last lines:"
  tail -n 20 "$TMP/serve.log" | sed 's/^/  /'
fi

if [[ $failed -ne 0 ]]; then
  echo "install-smoke: FAIL"
  exit 1
fi
echo "install-smoke: PASS ($(basename "$TARBALL"), $((size / 1000)) kB, $entries files)"
