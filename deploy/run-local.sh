#!/usr/bin/env bash
# Installs what is missing, builds, and runs clientreg on loopback in the foreground:
#   gateway  http://127.0.0.1:8080  (issuer http://127.0.0.1:8080, registration at /oauth/register)
#   server   127.0.0.1:50051 (gRPC), data under ./var
#   ops      http://127.0.0.1:9090 (gateway) and http://127.0.0.1:9091 (server): /healthz, /readyz, /metrics
# Ctrl-C, or SIGTERM to the process group, stops both cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
deploy/build.sh clientreg-server clientreg-gateway clientreg-admin

mkdir -p var
server_pid=
gateway_pid=
stop() {
  trap - INT TERM
  [[ -n $gateway_pid ]] && kill -TERM "$gateway_pid" 2>/dev/null || true
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM

build/bin/clientreg-server --config=deploy/config/server.textproto --data_dir=./var &
server_pid=$!
# The gateway connects to the server before it opens port 8080, so 8080 answers only once registrations work.
build/bin/clientreg-gateway --config=deploy/config/gateway.textproto &
gateway_pid=$!

# When either process ends, stop the other and report its exit status.
status=0
wait -n "$server_pid" "$gateway_pid" || status=$?
stop
exit "$status"
