#!/usr/bin/env bash
# bench/scale.sh: issue 11's scale run. 100 keys of 4 KB to 4 MB (about 62 MB),
# a pushpull of every key per step, with 2 then 8 workers and 4 servers as
# processes on this machine, under KVS_TRANSPORT=${KVS_TRANSPORT:-auto}.
# Prints the step time (median of RUNS, default 10) and each server's peak
# resident memory: VmHWM (which also counts the pages of the workers'
# shared memory segments the server touched) and its anonymous memory, the
# server's own, sampled every 0.2 s.
# Run (after tools/build.sh): bench/scale.sh [RUNS]
set -u
cd "$(dirname "$0")/.."
runs=${1:-10}
for workers in 2 8; do
  ./build/tools/kvs-launch -n "$workers" -s 4 -- ./build/bench/dist_pushpull "$runs" scale 2>&1 |
    grep -v "^kvs " &
  job=$!
  declare -A hwm=() anon=()
  while kill -0 "$job" 2>/dev/null; do
    for p in $(pgrep -x dist_pushpull); do
      tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qx DMLC_ROLE=server || continue
      h=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)
      a=$(awk '/RssAnon/ {print $2}' "/proc/$p/status" 2>/dev/null)
      [ -n "$h" ] && [ "$h" -gt "${hwm[$p]:-0}" ] && hwm[$p]=$h
      [ -n "$a" ] && [ "$a" -gt "${anon[$p]:-0}" ] && anon[$p]=$a
    done
    sleep 0.2
  done
  for p in "${!hwm[@]}"; do
    echo "  server (pid $p): peak $((hwm[$p] / 1024)) MiB, anonymous $((${anon[$p]:-0} / 1024)) MiB"
  done
  unset hwm anon
done
