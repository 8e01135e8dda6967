#!/usr/bin/env bash
# The main job: builds kvs, then trains a small perceptron on the 8x8 digits
# with 4 logical devices through a local store (examples/04_train_mlp.cpp;
# docs/training.md). Arguments go to the example, e.g. --store device.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
./build/examples/04_train_mlp "$@"
