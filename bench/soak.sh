#!/usr/bin/env bash
# Issue 11's soak of the open endpoint, on loopback: clientreg-server and clientreg-gateway from build/bin (built by
# deploy/build.sh: RelWithDebInfo), each phase on a fresh data dir under /tmp, free ports and configs of its own
# (rate limits as in production: per client IP burst 20 and 60 a minute, 127.0.0.2/32 a trusted network with a bucket
# of 1000 and 60,000 a minute, global 2000 and 60,000 a minute; gateway read and idle timeouts 5 s). Two phases:
#   main  --duration seconds: bench/soak_load.py floods the gateway from 127.0.0.1 (malformed, oversized,
#         smuggling-like, slow, aborted and over-limit requests) while a steady stream of valid registrations comes
#         from 127.0.0.2; every valid one must get 201, memory must stay within its bound.
#   cap   --cap-duration seconds, the same load against max_dynamic_clients --cap: the valid stream gets 201 until
#         the cap, then the documented 503 (Retry-After, temporarily_unavailable), and never more clients than the cap.
# Both phases fail on any 5xx but the cap's 503 (and the 501 RFC 9112 asks for an unknown transfer coding), on a
# flood answer its request kind does not allow, on a hang, or on a process that dies; bench/README.md lists the
# checks. Prints each phase's tables, the warning and error lines of the logs, and exits 0 only if every check passed
# (a WARN line does not fail the run).
#
#   bench/soak.sh [--duration=SECONDS (60)] [--cap-duration=SECONDS (20)] [--cap=N (300)] [--no-cap] [--no-build]
#                 [--keep]
#
# --no-build: use build/bin as it is. --keep: keep the work dir (configs, logs, each phase's JSON report) and print it.
# Needs Python 3 (standard library) and Linux, which routes all of 127/8 to lo.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60 cap_duration=20 cap=300 cap_phase=1 build=1 keep=0
for arg in "$@"; do
  case $arg in
    --duration=*) duration=${arg#*=} ;;
    --cap-duration=*) cap_duration=${arg#*=} ;;
    --cap=*) cap=${arg#*=} ;;
    --no-cap) cap_phase=0 ;;
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    *) echo "bench/soak.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
for value in "$duration" "$cap_duration" "$cap"; do
  if ! [[ $value =~ ^[1-9][0-9]*$ ]]; then echo "bench/soak.sh: not a positive number: $value" >&2; exit 2; fi
done
command -v python3 >/dev/null || { echo "bench/soak.sh: needs python3" >&2; exit 2; }

if ((build)); then
  deploy/install-deps.sh
  deploy/build.sh clientreg-server clientreg-gateway >/dev/null
fi
bin=build/bin
read_timeout_ms=5000

work=$(mktemp -d /tmp/clientreg-soak-XXXXXX)
server_pid='' gateway_pid='' load_pid=''
# The load first (it stops its own workers on SIGTERM), then the gateway, then the server.
stop_processes() {
  local pid
  for pid in $load_pid $gateway_pid $server_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  server_pid='' gateway_pid='' load_pid=''
}
cleanup() {
  stop_processes
  if ((keep)); then echo "bench/soak.sh: work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The gateway's connection cap needs descriptors, as in deploy/run-local.sh.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Waits until 127.0.0.1:$1 accepts connections (at most 30 s) while process $2 lives.
wait_for_port() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# write_configs DIR MAX_DYNAMIC_CLIENTS: the phase's server.textproto and gateway.textproto, on the ports chosen.
write_configs() {
  local dir=$1 max_clients=$2
  cat >"$dir/server.textproto" <<EOF
# bench/soak.sh: production-like rate limits; 127.0.0.2 stands for a hosted agent's egress address.
listen_address: "127.0.0.1:$server_port"
data_dir: "$dir/data"
issuer: "http://127.0.0.1:$gateway_port"
max_threads: 64
ops_listen_address: "127.0.0.1:$server_ops_port"
log_level: "info"
registration {
  default_grant_types: "authorization_code"
  default_token_endpoint_auth_method: "client_secret_basic"
}
limits {
  max_redirect_uris: 20
  max_redirect_uri_bytes: 2048
}
rate_limits {
  per_client_ip { burst: 20 refill_per_minute: 60 }
  trusted_networks { cidr: "127.0.0.2/32" per_client_ip { burst: 1000 refill_per_minute: 60000 } }
  global { burst: 2000 refill_per_minute: 60000 }
  failed_token_checks_per_client_ip { burst: 20 refill_per_minute: 20 }
}
max_dynamic_clients: $max_clients
EOF
  cat >"$dir/gateway.textproto" <<EOF
# bench/soak.sh: the defaults, but slow and idle clients are let go after 5 s so that they cycle within a phase.
listen_address: "127.0.0.1:$gateway_port"
server_address: "127.0.0.1:$server_port"
threads: 2
max_connections: 10000
max_inflight_rpcs: 48
rpc_deadline_ms: 5000
read_timeout_ms: $read_timeout_ms
idle_timeout_ms: $read_timeout_ms
ops_listen_address: "127.0.0.1:$gateway_ops_port"
log_level: "info"
limits {
  max_body_bytes: 65536
  max_header_bytes: 8192
  max_json_depth: 64
}
EOF
}

# run_phase NAME SECONDS MAX_DYNAMIC_CLIENTS: starts both processes, runs the load and its checks, stops them.
# Returns non-zero if a check failed, a process did not start, or one did not stop cleanly on SIGTERM.
run_phase() {
  local name=$1 seconds=$2 max_clients=$3 dir=$work/$1 status=0
  mkdir -p "$dir"
  read -r gateway_port gateway_ops_port server_port server_ops_port < <(python3 bench/soak_load.py free-ports 4)
  write_configs "$dir" "$max_clients"
  "$bin/clientreg-server" --config="$dir/server.textproto" --check-config >/dev/null
  "$bin/clientreg-gateway" --config="$dir/gateway.textproto" --check-config >/dev/null

  "$bin/clientreg-server" --config="$dir/server.textproto" >/dev/null 2>"$dir/server.log" &
  server_pid=$!
  if ! wait_for_port "$server_port" "$server_pid"; then
    echo "bench/soak.sh: clientreg-server did not start:" >&2; tail -5 "$dir/server.log" >&2; return 1
  fi
  "$bin/clientreg-gateway" --config="$dir/gateway.textproto" >/dev/null 2>"$dir/gateway.log" &
  gateway_pid=$!
  if ! wait_for_port "$gateway_port" "$gateway_pid"; then
    echo "bench/soak.sh: clientreg-gateway did not start:" >&2; tail -5 "$dir/gateway.log" >&2; return 1
  fi

  local phase_args=(--phase=main)
  if [[ $name == cap ]]; then phase_args=(--phase=cap --cap="$max_clients"); fi
  # soak_load.py bounds itself; timeout(1) is the backstop against a bug in it. In the background, so that a signal
  # to this script runs the cleanup at once rather than after the phase.
  timeout --kill-after=10 $((seconds + 90)) python3 bench/soak_load.py run --port="$gateway_port" \
    --ops-port="$gateway_ops_port" --server-ops-port="$server_ops_port" --server-pid="$server_pid" \
    --gateway-pid="$gateway_pid" --duration="$seconds" --read-timeout-ms="$read_timeout_ms" \
    --out="$dir/report.json" "${phase_args[@]}" &
  load_pid=$!
  wait "$load_pid" || status=1
  load_pid=''

  # SIGTERM: both must drain and exit 0 within their grace periods, or something is stuck.
  local pid exit_code
  for pid in $gateway_pid $server_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $gateway_pid $server_pid; do
    exit_code=0
    timeout 30 tail --pid="$pid" -f /dev/null || { echo "FAIL  process $pid did not stop within 30 s" >&2; status=1; }
    wait "$pid" || exit_code=$?
    if ((exit_code != 0)); then echo "FAIL  process $pid exited with status $exit_code after SIGTERM"; status=1; fi
  done
  server_pid='' gateway_pid=''
  python3 bench/soak_load.py logs server="$dir/server.log" gateway="$dir/gateway.log"
  return "$status"
}

started=$(date -u +%FT%TZ)
result=0
run_phase main "$duration" 0 || result=1
if ((cap_phase)); then run_phase cap "$cap_duration" "$cap" || result=1; fi
echo
echo "bench/soak.sh${*:+ $*}: $( ((result == 0)) && echo PASSED || echo FAILED ), started $started, $(nproc) cores," \
  "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (modified)')"
exit "$result"
