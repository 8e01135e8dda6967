#!/usr/bin/env bash
# Configures and builds kvs into ./build (Release). Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
