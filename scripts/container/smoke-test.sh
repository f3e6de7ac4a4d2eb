#!/usr/bin/env bash
# Run the image and check it from the host: ready, a REST v2 infer, gRPC ServerReady and
# ModelInfer, an OpenAI chat completion, then a SIGTERM that must end the container with exit
# code 0 and the server's `shut down` log line. Prints PASS/FAIL lines; exits 1 on a failure.
# Rerunnable: the container is removed on exit, whatever happened.
# Environment: IMAGE (default localhost/inferd:dev), CONTAINER_ENGINE, CONTAINER_ENGINE_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/container/lib.sh
source scripts/container/lib.sh

NAME="inferd-smoke-$$"
failed=0
pass() { echo "PASS $*"; }
fail() {
  echo "FAIL $*"
  failed=1
}
cleanup() { engine rm -f -t 0 "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

image_exists "$IMAGE" || {
  echo "smoke-test: no image $IMAGE; run scripts/container/build-image.sh" >&2
  exit 1
}
echo "smoke-test: $IMAGE, $(image_size "$IMAGE")"

# Three free ports on the host, mapped to the image's 8000 (REST), 8001 (gRPC), 8002 (metrics).
read -r HTTP_PORT GRPC_PORT METRICS_PORT < <(node -e '
  const net = require("node:net");
  const one = () => new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
  (async () => { const ps = new Set(); while (ps.size < 3) ps.add(await one()); console.log([...ps].join(" ")); })();')

run_flags=()
if [[ "$CONTAINER_ENGINE" == podman ]]; then
  # On this kind of machine (cgroup v1/v2 hybrid, no CAP_SYS_RESOURCE) crun refuses to start and
  # runc cannot raise the rlimits podman asks for by default. runc with rlimits no higher than
  # this shell's own works; on a normal host these flags are harmless.
  nofile="$(ulimit -Hn)"
  [[ "$nofile" == unlimited || "$nofile" -gt 65536 ]] && nofile=65536
  run_flags+=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
  if command -v runc >/dev/null; then
    run_flags=(--runtime runc "${run_flags[@]}")
  fi
  # podman schedules HEALTHCHECK runs with systemd timers; without systemd it logs errors for
  # each. The check below runs the image's HEALTHCHECK once by hand instead.
  [[ -d /run/systemd/system ]] || run_flags+=(--health-interval=disable)
fi

# On 0.0.0.0 without keys the admin APIs are refused: the container gets a key, the checks send it.
INFERD_API_KEY="inferd_smoke-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
export INFERD_API_KEY
engine run -d --name "$NAME" "${run_flags[@]}" -e "INFERD_API_KEYS=$INFERD_API_KEY" \
  -p "127.0.0.1:$HTTP_PORT:8000" -p "127.0.0.1:$GRPC_PORT:8001" -p "127.0.0.1:$METRICS_PORT:8002" \
  "$IMAGE" >/dev/null
echo "smoke-test: container $NAME on REST :$HTTP_PORT, gRPC :$GRPC_PORT, metrics :$METRICS_PORT"

if node scripts/container/check-server.mjs --http "127.0.0.1:$HTTP_PORT" --grpc "127.0.0.1:$GRPC_PORT" --openai; then
  :
else
  failed=1
fi

metrics="$(curl -fsS -m 10 -H "Authorization: Bearer $INFERD_API_KEY" "http://127.0.0.1:$METRICS_PORT/metrics" 2>&1 || true)"
if grep -q '^nv_inference_request_success' <<<"$metrics"; then
  pass "metrics on :8002"
else
  fail "metrics on :8002 (no inferd metrics at /metrics)"
fi

# The batch API stores uploads under --batch-dir: it must be writable by uid 1000.
upload="$(printf '{"custom_id":"a","method":"POST","url":"/v2/models/simple/infer","body":{}}\n' |
  curl -sS -m 10 -H "Authorization: Bearer $INFERD_API_KEY" "http://127.0.0.1:$HTTP_PORT/v1/files" -F purpose=batch -F 'file=@-;filename=requests.jsonl' 2>&1 || true)"
if [[ "$upload" == *'"id":"file-'* ]]; then
  pass "batch API: file upload stored under /var/lib/inferd"
else
  fail "batch API: file upload: $upload"
fi

if [[ "$CONTAINER_ENGINE" == podman ]]; then
  if engine healthcheck run "$NAME" >/dev/null 2>&1; then
    pass "HEALTHCHECK healthy"
  else
    fail "HEALTHCHECK did not pass"
  fi
fi

user="$(engine exec "$NAME" id -u 2>/dev/null || echo '?')"
if [[ "$user" == 1000 ]]; then pass "runs as uid 1000"; else fail "runs as uid $user, not 1000"; fi

# SIGTERM, as `docker stop` / Kubernetes send it; the server drains and exits on its own.
stop_start=$(date +%s)
# (Without systemd, podman logs an error about the healthcheck timer it cannot remove.)
engine stop -t 30 "$NAME" 2> >(grep -v 'systemd connection' >&2) >/dev/null
stop_secs=$(($(date +%s) - stop_start))
code="$(engine inspect --format '{{.State.ExitCode}}' "$NAME")"
if [[ "$code" == 0 ]]; then
  pass "SIGTERM: exit code 0 after ${stop_secs} s"
else
  fail "SIGTERM: exit code $code after ${stop_secs} s"
fi
# Read the whole log first: `logs | grep -q` would fail under pipefail when grep stops early.
logs="$(engine logs "$NAME" 2>&1)"
if grep -q '"msg":"shut down"' <<<"$logs"; then
  pass "SIGTERM: log has the server's \"shut down\" line"
else
  fail "SIGTERM: no \"shut down\" line in the log; its last lines:"
  tail -n 20 <<<"$logs" | sed 's/^/  /'
fi

if [[ $failed -ne 0 ]]; then
  echo "smoke-test: FAIL"
  exit 1
fi
echo "smoke-test: PASS ($IMAGE, $(image_size "$IMAGE"))"
