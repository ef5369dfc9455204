#!/usr/bin/env bash
# Installs what is missing, builds everything, checks formatting, and runs every test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
deploy/build.sh

# Style: Google-based .clang-format; a file out of format fails the run.
git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

ctest --test-dir build --output-on-failure -j 2
