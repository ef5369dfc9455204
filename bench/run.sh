#!/usr/bin/env bash
# Registration throughput of clientreg against the references, on loopback, one target at a time:
#   clientreg      deploy/run-local.sh's build and default config, a fresh data dir each round, every write synced
#   peer           node-oidc-provider from ../shared/peer (in memory, PEER_STORE=unbounded)
#   limit          ../shared/bench/limit_server.cc, a bare Beast server answering a fixed 201
# Each round warms a target up, then runs wrk -t2 -c32 -d10s --latency with bench/register.lua. The table shows
# medians over the rounds and the ratios clientreg/peer and clientreg/limit.
#
#   bench/run.sh [--rounds=N] [--duration=SECONDS] [--connections=N] [--only=clientreg] [--smoke] [--grpc] [--micro]
#   bench/run.sh --soak[=SECONDS]
#
# --grpc: instead, clientreg-server alone (no gateway, fresh data dir per mode) loaded over gRPC by
# clientreg-grpc-load in register, authenticate, resolve and check-redirect mode for --duration seconds each; prints
# its four lines.
# --smoke (CI): clientreg only, one short round; fails unless every response was a 201. Not a timing check.
# --micro: instead, no server at all: the Google Benchmarks clientreg-store-bench (the RocksDB store, pre-populated
# with 100,000 clients in a temporary directory) and clientreg-request-bench (one registration's CPU work, stage by
# stage); about half a minute.
# --soak[=SECONDS]: instead, issue 11's soak, bench/soak.sh (with --duration=SECONDS); other arguments are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=${CLIENTREG_SHARED:-$repo/../shared}

rounds=3 duration=10 connections=32 only="" smoke=0 grpc=0 micro=0
for arg in "$@"; do
  case $arg in
    --rounds=*) rounds=${arg#*=} ;;
    --duration=*) duration=${arg#*=} ;;
    --connections=*) connections=${arg#*=} ;;
    --only=*) only=${arg#*=} ;;
    --smoke) smoke=1 rounds=1 duration=3 only=clientreg ;;
    --grpc) grpc=1 ;;
    --micro) micro=1 ;;
    --soak) exec bench/soak.sh ;;
    --soak=*) exec bench/soak.sh --duration="${arg#*=}" ;;
    *) echo "bench/run.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

deploy/install-deps.sh
if ((micro)); then
  deploy/build.sh clientreg-store-bench clientreg-request-bench >/dev/null
  build/bin/clientreg-store-bench
  build/bin/clientreg-request-bench
  echo "Google Benchmarks, $(nproc) cores, $(date -u +%FT%TZ)"
  exit 0
fi
if ((!grpc)) && ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
build_targets=(clientreg-server clientreg-gateway)
if ((grpc)); then build_targets+=(clientreg-grpc-load); fi
deploy/build.sh "${build_targets[@]}" >/dev/null

work=$(mktemp -d /tmp/clientreg-bench-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for_port
source bench/lib.sh

stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

# start_<target> starts it in the background and sets `url` to its registration URL.
start_clientreg_server() {
  rm -rf "$work/data"
  build/bin/clientreg-server --config=deploy/config/server.textproto --data_dir="$work/data" \
    --listen=127.0.0.1:15051 --ops_listen=127.0.0.1:19091 >/dev/null 2>"$work/server.log" &
  pids+=($!)
}

start_clientreg() {
  start_clientreg_server
  build/bin/clientreg-gateway --config=deploy/config/gateway.textproto --listen=127.0.0.1:18080 \
    --ops_listen=127.0.0.1:19090 --server=127.0.0.1:15051 >/dev/null 2>"$work/gateway.log" &
  pids+=($!)
  wait_for_port 18080
  url=http://127.0.0.1:18080/oauth/register
}

start_peer() {
  if [[ ! -d $shared/peer/node_modules ]]; then
    (cd "$shared/peer" && npm ci --silent --no-audit --no-fund >&2)
  fi
  (cd "$shared/peer" && PEER_STORE=unbounded PORT=13999 HOST=127.0.0.1 exec node server.mjs >"$work/peer.log" 2>&1) &
  pids+=($!)
  wait_for_port 13999
  url=http://127.0.0.1:13999/reg
}

start_limit() {
  if [[ ! -x $work/limit_server ]]; then
    g++ -O2 -std=c++17 -o "$work/limit_server" "$shared/bench/limit_server.cc" -pthread
  fi
  "$work/limit_server" 18099 2 >"$work/limit.log" 2>&1 &
  pids+=($!)
  wait_for_port 18099
  url=http://127.0.0.1:18099/oauth/register
}

to_ms() {  # wrk latency (e.g. 850.12us, 10.70ms, 1.02s) in milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# One measured run: prints "requests_per_s p50_ms p99_ms non_201 total".
measure() {
  local url=$1 out
  wrk -t2 -c"$connections" -d2s -s bench/register.lua "$url" >/dev/null 2>&1 || true  # warm-up
  out=$(BENCH_COUNT_STATUS=1 wrk -t2 -c"$connections" -d"${duration}s" --latency -s bench/register.lua "$url")
  local rps p50 p99 non201 total
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  non201=$(awk '/^non-201:/ { print $2 }' <<<"$out")
  total=$(awk '/ requests in / { print $1 }' <<<"$out")
  echo "$rps $p50 $p99 ${non201:-unknown} ${total:-0}"
}

if ((grpc)); then
  for mode in register authenticate resolve check-redirect; do
    start_clientreg_server
    wait_for_port 15051
    if ! build/bin/clientreg-grpc-load --server=127.0.0.1:15051 --mode="$mode" --seconds="$duration"; then
      echo "bench: clientreg-grpc-load --mode=$mode failed" >&2
      tail -20 "$work/server.log" >&2 || true
      exit 1
    fi
    stop_all
  done
  echo "clientreg-server over gRPC, ${duration}s per mode, $(nproc) cores, $(date -u +%FT%TZ)"
  exit 0
fi

median() { tr ' ' '\n' | sort -g | awk 'NF { v[++n] = $1 } END { if (n) print v[int((n + 1) / 2)]; else print "-" }'; }

targets=(clientreg peer limit)
[[ -n $only ]] && targets=($only)
declare -A rps p50 p99 bad
for round in $(seq "$rounds"); do
  for target in "${targets[@]}"; do
    start_"$target"
    read -r r l50 l99 non201 total < <(measure "$url")
    stop_all
    echo "round $round $target: $r requests/s, p50 ${l50} ms, p99 ${l99} ms, non-201 $non201 of $total" >&2
    rps[$target]+="$r " p50[$target]+="$l50 " p99[$target]+="$l99 "
    if [[ $non201 != 0 ]]; then bad[$target]=$(( ${bad[$target]:-0} + 1 )); fi
    if ((smoke)) && [[ $non201 != 0 || $total == 0 ]]; then
      echo "bench smoke: $non201 responses other than 201 (of $total)" >&2
      tail -20 "$work/server.log" "$work/gateway.log" >&2 || true
      exit 1
    fi
  done
done

printf '\n%-10s %12s %9s %9s %14s\n' target "requests/s" "p50 ms" "p99 ms" "rounds w/ non-201"
for target in "${targets[@]}"; do
  printf '%-10s %12s %9s %9s %14s\n' "$target" "$(median <<<"${rps[$target]}")" "$(median <<<"${p50[$target]}")" \
    "$(median <<<"${p99[$target]}")" "${bad[$target]:-0}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
if [[ -n ${rps[peer]:-} ]]; then
  echo "clientreg/peer:  $(ratio "$(median <<<"${rps[clientreg]}")" "$(median <<<"${rps[peer]}")")"
fi
if [[ -n ${rps[limit]:-} ]]; then
  echo "clientreg/limit: $(ratio "$(median <<<"${rps[clientreg]}")" "$(median <<<"${rps[limit]}")")"
fi
echo "medians of $rounds round(s), wrk -t2 -c$connections -d${duration}s, $(nproc) cores, $(date -u +%FT%TZ)"
