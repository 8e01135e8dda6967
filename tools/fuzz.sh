#!/usr/bin/env bash
# The long fuzz campaign (docs/security.md, "Fuzzing"): builds kvs and the
# fuzz targets with clang 14, libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-fuzz/, then runs each target for
# RUNS inputs (default 1000000) starting from a copy of its seed corpus.
# A crash, sanitizer report, leak or hang (-timeout) stops the target and
# leaves the input as build-fuzz/campaign/<target>-crash-* (or -leak-*, -timeout-*).
# Usage: tools/fuzz.sh [RUNS] [TARGET...]   (targets: see fuzz/CMakeLists.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(shard_requests cluster_requests state_file optimizer_config environment)
KVS_FUZZ_DEPS=1 tools/install-deps.sh
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DKVS_WITH_CUDA=OFF -DKVS_SANITIZE=address,undefined -DKVS_FUZZ=ON \
  -DKVS_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
status=0
for t in "${targets[@]}"; do
  work=build-fuzz/campaign/$t
  mkdir -p "$work"
  cp -n fuzz/corpus/"$t"/* "$work"/
  echo "== $t: $runs runs"
  if ! build-fuzz/fuzz/fuzz_"$t" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$work"- "$work" >"$work".log 2>&1; then
    status=1
    echo "   FAILED: see build-fuzz/campaign/$t.log"
  fi
  grep -E "stat::number_of_executed_units|ERROR|SUMMARY" build-fuzz/campaign/"$t".log || true
done
exit $status
