#!/usr/bin/env bash
# Issue 5's fill: clientreg-server as deploy/run-local.sh runs it (RelWithDebInfo, deploy/config/server.textproto,
# every write synced), on a fresh data dir under /tmp, filled over gRPC to --clients registrations by clientreg-fill
# (--inflight calls in flight, a line per tenth of the fill), then GetRegistration, AuthenticateClient, ResolveClient
# (authorize) and CheckRedirectUri latencies at full size (issue 12), and --reaps ClientAdmin.Reap dry runs, one at a
# time. For those, the config gets a lifecycle with the reaper on but nothing due for ten years (a pass a day on its
# own), so each dry run is one reaper pass over the lifecycle indexes that finds nothing. It records the server's
# VmRSS and VmHWM before the fill, after it and after the lookups, stops the server, compacts every column family
# fully with RocksDB's ldb, and measures the data dir (du -sb) per client.
# Prints a summary table with the issue's targets; the data dir is removed at the end.
#
#   bench/fill.sh [--clients=N (1000000)] [--inflight=N (48)] [--sample=N (10000)] [--lookups=N (20000)]
#                 [--reaps=N (200)]
#
# BUILD_DIR=dir: take the binaries from an already configured build dir (built there with -j2) instead of building
# build/ with deploy/build.sh. A 1,000,000 fill takes about 3 minutes and a few hundred MB under /tmp.
# Exits 1 if a call failed or a step did not finish in time, not when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."

clients=1000000 inflight=48 sample=10000 lookups=20000 reaps=200
for arg in "$@"; do
  case $arg in
    --clients=*) clients=${arg#*=} ;;
    --inflight=*) inflight=${arg#*=} ;;
    --sample=*) sample=${arg#*=} ;;
    --lookups=*) lookups=${arg#*=} ;;
    --reaps=*) reaps=${arg#*=} ;;
    *) echo "bench/fill.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
for value in "$clients" "$inflight" "$sample" "$lookups" "$reaps"; do
  if ! [[ $value =~ ^[1-9][0-9]*$ ]]; then echo "bench/fill.sh: not a positive number: $value" >&2; exit 2; fi
done
window=$(( clients >= 10 ? clients / 10 : 1 ))
port=15061
column_families=(default clients token_index audit last_used)

deploy/install-deps.sh
if ! command -v ldb >/dev/null; then
  echo "bench: installing rocksdb-tools (ldb)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rocksdb-tools >/dev/null
fi
if [[ -n ${BUILD_DIR:-} ]]; then
  cmake --build "$BUILD_DIR" -j 2 --target clientreg-server clientreg-fill >/dev/null
  bin=$BUILD_DIR/bin
else
  deploy/build.sh clientreg-server clientreg-fill >/dev/null
  bin=build/bin
fi

work=$(mktemp -d /tmp/clientreg-fill-XXXXXX)
data=$work/data
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# "VmRSS VmHWM" of process $1, in MiB.
memory() {
  awk '$1 == "VmRSS:" { rss = $2 } $1 == "VmHWM:" { hwm = $2 } END { printf "%.1f %.1f\n", rss / 1024, hwm / 1024 }' \
    "/proc/$1/status"
}

# gRPC listens with SO_REUSEPORT, so a server left on the port would silently take a share of the calls.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "bench/fill.sh: something already listens on 127.0.0.1:$port" >&2
  exit 1
fi
# deploy/config/server.textproto has no lifecycle; 315360000 s is ten years.
config=$work/server.textproto
cp deploy/config/server.textproto "$config"
printf '\nlifecycle {\n  reap_never_used_after_seconds: %s\n  reap_idle_after_seconds: %s\n  reap_interval_seconds: %s\n}\n' \
  315360000 315360000 86400 >>"$config"
"$bin/clientreg-server" --config="$config" --data_dir="$data" --listen=127.0.0.1:$port \
  --ops_listen=127.0.0.1:$((port + 1)) \
  >/dev/null 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 600); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
sleep 1
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "bench: clientreg-server did not start:" >&2
  tail -5 "$work/server.log" >&2 || true
  exit 1
fi
read -r rss_before hwm_before < <(memory "$server_pid")
echo "server pid $server_pid: VmRSS $rss_before MiB, VmHWM $hwm_before MiB before the fill" >&2

# Bounded: an hour per million clients at 280 registrations/s, far below the slowest rate seen, plus the lookups.
status=0
timeout $(( clients / 280 + 600 )) "$bin/clientreg-fill" --server=127.0.0.1:$port --clients="$clients" \
  --inflight="$inflight" --window="$window" --sample="$sample" --lookups="$lookups" --reaps="$reaps" \
  --server_pid="$server_pid" \
  | tee "$work/fill.out" || status=$?
read -r rss_after hwm_after < <(memory "$server_pid")
du_live=$(du -sb "$data" | cut -f1)

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=
if ((status != 0)); then
  echo "bench: clientreg-fill failed (exit $status); the server's last log lines:" >&2
  tail -5 "$work/server.log" >&2 || true
fi

# The server is stopped, so nothing writes meanwhile. ldb opens the database with the OPTIONS file the server wrote
# (--try_load_options is its default), so the files are rewritten with the server's own compression and filters.
compact_begin=$(date +%s)
for cf in "${column_families[@]}"; do
  if ! timeout 1800 ldb --db="$data/clients" --column_family="$cf" compact >"$work/ldb.log" 2>&1; then
    echo "bench: ldb compact of column family $cf failed:" >&2
    cat "$work/ldb.log" >&2
    exit 1
  fi
done
compact_seconds=$(( $(date +%s) - compact_begin ))
du_compacted=$(du -sb "$data" | cut -f1)
sst_bytes=$(find "$data/clients" -name '*.sst' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')

field() {  # field PREFIX NAME: NAME's value in the last line of fill.out starting with PREFIX ("fill", "lookup mode=get")
  awk -v prefix="$1" -v name="$2" 'index($0, prefix) == 1 {
      for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) value = kv[2] } }
    END { print (value == "" ? "-" : value) }' "$work/fill.out"
}
first_last() {  # first_last NAME: NAME's value in the first and in the last window line
  awk -v name="$1" 'index($0, "window=") == 1 { for (i = 1; i <= NF; i++) { split($i, kv, "=");
      if (kv[1] == name) { if (first == "") first = kv[2]; last = kv[2] } } }
    END { print first ", " last }' "$work/fill.out"
}
number() { [[ $1 =~ ^[0-9.]+$ ]] && echo "$1" || echo 0; }
check() { awk "BEGIN { print (($1) ? \"yes\" : \"NO\") }"; }  # check EXPRESSION: awk evaluates it

stored=$(number "$(field fill clients)")
per_client() { awk -v b="$1" -v n="$stored" 'BEGIN { if (n > 0) printf "%.0f", b / n; else print 0 }'; }
last_vs_first=$(field fill last_vs_first)
compacted_per_client=$(per_client "$du_compacted")
get="lookup mode=get_registration" auth="lookup mode=authenticate" resolve="lookup mode=resolve_authorize"
check_redirect="lookup mode=check_redirect_uri" reap="lookup mode=reap_dry_run"

echo
echo "Windows of $window registrations (the store holds 'clients' at each window's end):"
echo
echo "| window | clients | registrations/s | p50 ms | p99 ms | server CPU ms per 1k | of which flush + compaction | others' cores | server VmRSS MiB |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
awk 'index($0, "window=") == 1 {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f["window"], f["clients"], f["regs_per_s"], f["p50_ms"],
      f["p99_ms"], f["server_cpu_ms_per_1k"], f["rocksdb_bg_cpu_ms_per_1k"], f["others_cores"], f["rss_mb"] }' \
  "$work/fill.out"
echo
echo "| measure | value | target | met |"
echo "| --- | ---: | ---: | --- |"
echo "| clients stored | $stored | $clients | $(check "$stored == $clients") |"
echo "| fill: seconds, mean registrations/s | $(field fill seconds) s, $(field fill regs_per_s) | | |"
echo "| registrations/s: first window (empty store), median, slowest, last | $(field fill first_window_per_s), $(field fill median_window_per_s), $(field fill min_window_per_s), $(field fill last_window_per_s) | | |"
echo "| last window / first (full store vs empty) | $last_vs_first | >= 0.90 | $(check "$(number "$last_vs_first") >= 0.9") |"
echo "| median window / first, slowest / first | $(field fill median_vs_first), $(field fill min_vs_first) | | |"
echo "| server CPU ms per 1,000 registrations: first window, last | $(first_last server_cpu_ms_per_1k) | | |"
echo "| of which RocksDB flushes and compactions: first window, last | $(first_last rocksdb_bg_cpu_ms_per_1k) | | |"
echo "| server VmRSS / VmHWM before the fill, MiB | $rss_before / $hwm_before | | |"
echo "| server VmRSS / VmHWM after the fill, MiB | $(field fill rss_mb) / $(field fill hwm_mb) | | |"
echo "| server VmRSS / VmHWM after the lookups, MiB | $rss_after / $hwm_after | <= 150 | $(check "$rss_after <= 150 && $hwm_after <= 150") |"
echo "| GetRegistration at full size: p50 / p99 ms, calls/s | $(field "$get" p50_ms) / $(field "$get" p99_ms), $(field "$get" calls_per_s) | | |"
echo "| AuthenticateClient at full size: p50 / p99 ms, calls/s | $(field "$auth" p50_ms) / $(field "$auth" p99_ms), $(field "$auth" calls_per_s) | | |"
echo "| ResolveClient (authorize) at full size: p50 / p99 ms, calls/s | $(field "$resolve" p50_ms) / $(field "$resolve" p99_ms), $(field "$resolve" calls_per_s) | | |"
echo "| CheckRedirectUri (exact match) at full size: p50 / p99 ms, calls/s | $(field "$check_redirect" p50_ms) / $(field "$check_redirect" p99_ms), $(field "$check_redirect" calls_per_s) | | |"
echo "| reaper pass, nothing due (Reap dry runs one at a time: $(field "$reap" calls)): p50 / p99 ms, passes/s | $(field "$reap" p50_ms) / $(field "$reap" p99_ms), $(field "$reap" calls_per_s) | | |"
echo "| data dir before compaction: bytes, per client | $du_live, $(per_client "$du_live") | | |"
echo "| data dir after full compaction ($compact_seconds s): bytes, per client | $du_compacted, $compacted_per_client | <= 1024 | $(check "$stored > 0 && $compacted_per_client <= 1024") |"
echo "| of which SST files: bytes, per client | $sst_bytes, $(per_client "$sst_bytes") | | |"
echo
echo "clientreg-server, $clients clients, $inflight in flight, $(nproc) cores, $(date -u +%FT%TZ)"
if ((status != 0)); then exit 1; fi
