#!/usr/bin/env bash
# Installs what is missing, builds everything, checks formatting, and runs every test (ctest): once on the
# RelWithDebInfo build that deploy/run-local.sh runs, once more under AddressSanitizer and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh

# Style: Google-based .clang-format; a file out of format fails the run.
git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

deploy/build.sh
ctest --test-dir build --output-on-failure -j 2

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCLIENTREG_SANITIZE=ON \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build build-asan -j "$(nproc)"
# Any sanitizer report fails the test that produced it.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j 2

# libFuzzer targets (tests/fuzz) with clang, ASan and UBSan, each for a short fixed time from its seed corpus: any
# crash, leak, sanitizer report or broken property fails the run.
deploy/fuzz.sh 15
