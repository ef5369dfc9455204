#!/usr/bin/env bash
# Installs what is missing, builds, and runs clientreg on loopback in the foreground:
#   gateway  http://127.0.0.1:8080  (issuer http://127.0.0.1:8080, registration at /oauth/register)
#   server   127.0.0.1:50051 (gRPC), data under ./var
#   ops      http://127.0.0.1:9090 (gateway) and http://127.0.0.1:9091 (server): /healthz, /readyz, /metrics
# Ctrl-C, or SIGTERM to the process group, stops both cleanly.
#
# Environment:
#   CLIENTREG_SERVER_CONFIG=FILE   server config instead of deploy/config/server.textproto
#   CLIENTREG_GATEWAY_CONFIG=FILE  gateway config instead of deploy/config/gateway.textproto
#   CLIENTREG_INITIAL_ACCESS_TOKEN=TOKEN
#       registration requires an initial access token (RFC 7591 §3), and TOKEN (32 to 512 characters of
#       letters, digits and -._~+/) is the one accepted: the server config (a textproto, which must not set
#       initial_access_tokens itself) is extended in ./var/run-local-server.textproto (mode 0600), labelled "run-local".
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
deploy/build.sh clientreg-server clientreg-gateway clientreg-admin

server_config=${CLIENTREG_SERVER_CONFIG:-deploy/config/server.textproto}
gateway_config=${CLIENTREG_GATEWAY_CONFIG:-deploy/config/gateway.textproto}
for config in "$server_config" "$gateway_config"; do
  [[ -r $config ]] || { echo "run-local.sh: cannot read config file $config" >&2; exit 2; }
done

mkdir -p var
if [[ -n ${CLIENTREG_INITIAL_ACCESS_TOKEN:-} ]]; then
  if [[ $server_config == *.json ]]; then
    echo "run-local.sh: CLIENTREG_INITIAL_ACCESS_TOKEN needs a textproto server config, not $server_config" >&2
    exit 2
  fi
  # The token goes in quotes; its alphabet holds no quote or backslash, and the server refuses any other.
  if [[ ! $CLIENTREG_INITIAL_ACCESS_TOKEN =~ ^[A-Za-z0-9._~+/-]+=*$ ]]; then
    echo "run-local.sh: CLIENTREG_INITIAL_ACCESS_TOKEN may hold only letters, digits and -._~+/ (then = padding)" >&2
    exit 2
  fi
  overlay=var/run-local-server.textproto
  # The overlay holds the token: private from its first byte.
  (
    umask 077
    cat "$server_config" >"$overlay"
    printf '\n# Added by deploy/run-local.sh from CLIENTREG_INITIAL_ACCESS_TOKEN.\n' >>"$overlay"
    printf 'initial_access_tokens {\n  mode: "required"\n  static_tokens { token: "%s" label: "run-local" }\n}\n' \
      "$CLIENTREG_INITIAL_ACCESS_TOKEN" >>"$overlay"
  )
  server_config=$overlay
  echo "run-local.sh: registration requires the initial access token from CLIENTREG_INITIAL_ACCESS_TOKEN" >&2
fi
server_pid=
gateway_pid=
stop() {
  trap - INT TERM
  [[ -n $gateway_pid ]] && kill -TERM "$gateway_pid" 2>/dev/null || true
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM

# The gateway's connection cap (max_connections, 10000 by default) needs as many descriptors, and the soft limit of a
# login shell is often 1024: raise it to the hard limit, as the systemd units do with LimitNOFILE.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || echo "run-local: could not raise the open file limit (ulimit -n $(ulimit -n))" >&2

build/bin/clientreg-server --config="$server_config" --data_dir=./var &
server_pid=$!
# The gateway connects to the server before it opens port 8080, so 8080 answers only once registrations work.
build/bin/clientreg-gateway --config="$gateway_config" &
gateway_pid=$!

# When either process ends, stop the other and report its exit status.
status=0
wait -n "$server_pid" "$gateway_pid" || status=$?
stop
exit "$status"
