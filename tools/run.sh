#!/usr/bin/env bash
# The main job: builds kvs and runs the local store example.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
./build/examples/01_local_push_pull
