#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan into build-fuzz/, and runs each for SECONDS
# (default 20) from its seed corpus. Any crash, leak, sanitizer report or broken property fails the run; the input
# that caused it is left in build-fuzz/fuzz/ (crash-*, leak-*, timeout-*).
#   deploy/fuzz.sh [SECONDS] [TARGET...]     e.g. deploy/fuzz.sh 600 redirect_uri
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(http_framing json_mapping metadata_validator redirect_uri cimd_document); fi

declare -A corpus=([http_framing]=http_framing [json_mapping]=registration_json [metadata_validator]=registration_json [redirect_uri]=redirect_uri [cimd_document]=cimd_document)

cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCLIENTREG_FUZZ=ON -DCLIENTREG_SANITIZE=ON -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_targets

for target in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/${corpus[$target]:?unknown fuzz target $target}
  # New inputs go to a scratch corpus; the seeds in the repository are only read.
  scratch=$(mktemp -d)
  echo "fuzz: $target for ${seconds}s" >&2
  (cd build-fuzz/fuzz &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "./fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "$scratch" "../../$seeds")
  rm -rf "$scratch"
done
