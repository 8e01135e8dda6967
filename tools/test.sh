#!/usr/bin/env bash
# Builds kvs and runs every test through CTest. GPU tests skip, saying so,
# where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
ctest --test-dir build --output-on-failure --no-tests=error -j 2 "$@"
