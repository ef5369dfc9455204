#!/usr/bin/env bash
# Issue 13's benchmark: ResolveClient of a cached Client ID Metadata Document client against a registered client, over
# gRPC on loopback. Starts a plain HTTP document server (python3 -m http.server on a free loopback port, serving a
# generated client.json, which it sends as application/json) and clientreg-server with deploy/config/server.textproto
# plus cimd { enabled: true insecure_allow_loopback_http: true } on free ports and a fresh data dir; warms the cache
# with one `clientreg-admin resolve` of the document's URL; then runs clientreg-grpc-load --mode=resolve (1,000
# pre-registered clients, authorize and token in turn) and --mode=resolve-cimd (the URL, authorize), alternating,
# --runs times each, and prints the medians of calls/s and p99 with how often the document was fetched (1: every
# measured call was a cache hit).
#
#   bench/cimd.sh [--runs=N (3)] [--duration=SECONDS (5)] [--inflight=N (48)]
#
# BUILD_DIR=dir: take the binaries from an already configured build dir instead of building build/ with
# deploy/build.sh. About 45 s once built. Exits 1 if a call failed or a step did not finish in time.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 duration=5 inflight=48
for arg in "$@"; do
  case $arg in
    --runs=*) runs=${arg#*=} ;;
    --duration=*) duration=${arg#*=} ;;
    --inflight=*) inflight=${arg#*=} ;;
    *) echo "bench/cimd.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
for value in "$runs" "$duration" "$inflight"; do
  if ! [[ $value =~ ^[1-9][0-9]*$ ]]; then echo "bench/cimd.sh: not a positive number: $value" >&2; exit 2; fi
done

targets=(clientreg-server clientreg-admin clientreg-grpc-load)
if [[ -n ${BUILD_DIR:-} ]]; then
  cmake --build "$BUILD_DIR" -j 2 --target "${targets[@]}" >/dev/null
  bin=$BUILD_DIR/bin
else
  deploy/build.sh "${targets[@]}" >/dev/null
  bin=build/bin
fi

work=$(mktemp -d /tmp/clientreg-cimd-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for_port, free_port
source bench/lib.sh

document_port=$(free_port)
server_port=$(free_port)
ops_port=$(free_port)
url="http://127.0.0.1:$document_port/client.json"

mkdir "$work/documents"
# Claude Code's shape: a public native client on loopback.
cat >"$work/documents/client.json" <<EOF
{"client_id":"$url","client_name":"Bench CIMD client","redirect_uris":["http://127.0.0.1:33418/callback"],
 "grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none"}
EOF
python3 -m http.server "$document_port" --bind 127.0.0.1 --directory "$work/documents" \
  >/dev/null 2>"$work/documents.log" &
pids+=($!)

# http.server sends no Cache-Control, so the server would keep the document cache_min_lifetime_seconds (default
# 300); an hour keeps it cached however long the runs take.
config=$work/server.textproto
cp deploy/config/server.textproto "$config"
printf '\ncimd {\n  enabled: true\n  insecure_allow_loopback_http: true\n  cache_min_lifetime_seconds: 3600\n}\n' \
  >>"$config"
"$bin/clientreg-server" --config="$config" --data_dir="$work/data" --listen="127.0.0.1:$server_port" \
  --ops_listen="127.0.0.1:$ops_port" >/dev/null 2>"$work/server.log" &
pids+=($!)
wait_for_port "$document_port"
wait_for_port "$server_port"

if ! timeout 30 "$bin/clientreg-admin" --server="127.0.0.1:$server_port" resolve "$url" >"$work/warm.out" 2>&1 ||
  ! grep -q '^origin: *metadata_document$' "$work/warm.out"; then
  echo "bench/cimd.sh: the document client did not resolve:" >&2
  cat "$work/warm.out" >&2
  tail -5 "$work/server.log" >&2 || true
  exit 1
fi

# field NAME LINE: NAME's value in one clientreg-grpc-load result line.
field() { awk -v name="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) print kv[2] } }' <<<"$2"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

declare -A rates p99s
for run in $(seq "$runs"); do
  for mode in resolve resolve-cimd; do
    cimd_flag=()
    if [[ $mode == resolve-cimd ]]; then cimd_flag=(--cimd-url="$url"); fi
    if ! line=$(timeout $((duration + 120)) "$bin/clientreg-grpc-load" --server="127.0.0.1:$server_port" \
      --mode="$mode" --seconds="$duration" --inflight="$inflight" "${cimd_flag[@]}"); then
      echo "bench/cimd.sh: clientreg-grpc-load --mode=$mode failed (run $run)" >&2
      tail -5 "$work/server.log" >&2 || true
      exit 1
    fi
    echo "run $run: $line" >&2
    rates[$mode]+="$(field calls_per_s "$line") "
    p99s[$mode]+="$(field p99_ms "$line") "
  done
done
fetches=$(grep -c 'GET /client.json' "$work/documents.log" || true)

echo
echo "| ResolveClient over gRPC ($inflight in flight, median of $runs runs of ${duration}s) | calls/s | p99 ms |"
echo "| --- | ---: | ---: |"
for mode in resolve resolve-cimd; do
  case $mode in
    resolve) label="registered client (1,000, authorize and token in turn)" ;;
    resolve-cimd) label="cached metadata document client (authorize)" ;;
  esac
  rate=$(tr ' ' '\n' <<<"${rates[$mode]}" | grep . | median)
  p99=$(tr ' ' '\n' <<<"${p99s[$mode]}" | grep . | median)
  printf '| %s | %.0f | %.2f |\n' "$label" "$rate" "$p99"
done
echo
echo "document fetched $fetches time(s) in all (1: only the warm-up; every measured call was a cache hit)"
echo "clientreg-server, $(nproc) cores, $(date -u +%FT%TZ)"
