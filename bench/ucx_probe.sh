#!/usr/bin/env bash
# Runs bench/ucx_probe over every transport choice: latency and bandwidth,
# then the failure cases (peer SIGKILLed mid-transfer in both roles, and
# idle; a third peer sends meanwhile), each under `timeout` so nothing hangs
# the machine. perf: about 1 minute; failure: about 13 minutes with
# PROBE_REPEAT=3, 7 with PROBE_REPEAT=1 (measured on 2 loaded cores): each
# case that UCX never reports waits out its deadline.
# Usage: bench/ucx_probe.sh [build dir] [perf|failure|all]
# Env (not UCX_*: UCX warns about unknown UCX_ variables): PROBE_REPEAT (3), PROBE_DEADLINE_S (10), PROBE_KEEPALIVE (1s).
set -uo pipefail
build=${1:-build}
what=${2:-all}
probe="$build/bench/ucx_probe"
[ -x "$probe" ] || { echo "no $probe (is libucx-dev installed?)" >&2; exit 1; }
repeat=${PROBE_REPEAT:-3}
deadline=${PROBE_DEADLINE_S:-10}
keepalive=${PROBE_KEEPALIVE:-1s}
# Each choice: UCX_TLS, then extra flags.
choices=(
  "default|"
  "default|--mm-error-handling"
  "tcp,self|"
  "posix,cma,self|--mm-error-handling"
  "sysv,cma,self|--mm-error-handling"
  "^cma|--mm-error-handling"
  "^cma|"
)
echo "# $(date -u) $(uptime)"
# The outer timeout, per run, from that run's own --deadline-s and --repeat
# (the probe's defaults: 30 s, 3): a failure run's survivors are each killed
# as HUNG after 3*deadline+15 s; a performance run has one deadline in all.
run() {
  local d=30 r=3 mode=bandwidth a prev=""
  for a in "$@"; do
    case $prev in --deadline-s) d=$a ;; --repeat) r=$a ;; --mode) mode=$a ;; esac
    prev=$a
  done
  local limit=$((d + 30))
  [ "$mode" = failure ] && limit=$((r * (3 * d + 20) + 30))
  echo "\$ ucx_probe $*"; timeout "$limit" "$probe" "$@" 2>&1; echo "  (exit $?)"
}
if [ "$what" != failure ]; then
  for c in "${choices[@]}"; do
    tls=${c%%|*}; flags=${c#*|}
    # shellcheck disable=SC2086
    run --mode latency --tls "$tls" $flags
    # shellcheck disable=SC2086
    run --mode bandwidth --tls "$tls" $flags
  done
  run --mode bandwidth --tls default --no-peer-errors  # what UCX picks when failures are not handled
fi
if [ "$what" != perf ]; then
  common=(--repeat "$repeat" --deadline-s "$deadline" --keepalive "$keepalive")
  for c in "${choices[@]}"; do
    tls=${c%%|*}; flags=${c#*|}
    [ "$c" = "default|" ] || [ "$c" = "^cma|" ] && continue  # with error handling both are tcp,self
    for k in "recv-from-dead during" "recv-from-dead before" "send-to-dead during" "send-to-dead before" "idle during"; do
      # shellcheck disable=SC2086
      run --mode failure --tls "$tls" $flags --case "${k% *}" --when "${k#* }" "${common[@]}" --bystander
    done
  done
  # UCX's own keepalive interval (20 s), a longer deadline: late, or never?
  run --mode failure --tls default --mm-error-handling --case recv-from-dead --repeat 1 --deadline-s 60
  run --mode failure --tls default --mm-error-handling --case idle --repeat 1 --deadline-s 60
  # Without error handling UCX may pick CMA for the bytes: a dead sender's memory read.
  run --mode failure --tls default --no-peer-errors --case recv-from-dead --when before --repeat "$repeat" --deadline-s "$deadline"
  run --mode failure --tls default --no-peer-errors --case recv-from-dead --when during --repeat "$repeat" --deadline-s "$deadline"
fi
echo "# $(date -u) $(uptime)"
