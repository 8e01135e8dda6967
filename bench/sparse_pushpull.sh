#!/usr/bin/env bash
# The sparse benchmark, locally and with 2 workers and 2 servers on loopback.
# Run:   bench/sparse_pushpull.sh [extra flags, e.g. --runs 20]   (after tools/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
./build/bench/sparse_pushpull --type local "$@"
./build/tools/kvs-launch -n 2 -s 2 -- ./build/bench/sparse_pushpull --type dist_sync "$@"
