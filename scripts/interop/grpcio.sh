#!/usr/bin/env bash
# `npm run test:interop`: Python's grpcio, a gRPC implementation independent of grpc-js, calls
# inferd (dist/, built by `npm run build`) on each gRPC transport (--grpc-server http2 and
# grpc-js): health, metadata, ModelInfer (plain, gzip, binary metadata), ModelStreamInfer, and
# the refusals (unknown model or method, a message that inflates past the limit). Installs
# grpcio from Debian (python3-grpcio) when it is missing. Prints PASS/FAIL lines; exits 1 on a
# failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-/usr/bin/python3}"

if ! "$PYTHON" -c 'import grpc' 2>/dev/null; then
  echo "installing python3-grpcio"
  if [[ "$(id -u)" == 0 ]]; then apt-get install -y python3-grpcio >/dev/null; else sudo apt-get install -y python3-grpcio >/dev/null; fi
fi
[[ -f dist/cli/main.js ]] || npm run build

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

SERVER_PID=""
cleanup() { if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

failed=0
for transport in http2 grpc-js; do
  http_port="$(free_port)"
  grpc_port="$(free_port)"
  node bin/inferd.js serve --model-repository examples/models --model-control-mode explicit --load-model simple \
    --host 127.0.0.1 --http-port "$http_port" --grpc-port "$grpc_port" --metrics-port off \
    --max-body-size 1MB --log-level warn --grpc-server "$transport" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$http_port/v2/health/ready" >/dev/null; then break; fi
    sleep 0.1
  done
  echo "== grpcio against --grpc-server $transport"
  "$PYTHON" scripts/interop/grpcio_client.py "127.0.0.1:$grpc_port" || failed=1
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || { echo "FAIL inferd did not exit cleanly on SIGTERM ($transport)"; failed=1; }
  SERVER_PID=""
done
exit "$failed"
