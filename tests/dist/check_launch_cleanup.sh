#!/bin/sh
# kvs-launch keeps the job's credentials in a private directory (mode 0700,
# files 0600) while the job runs, and removes it when it is stopped by
# SIGTERM (as it does when the job ends).
# Usage: check_launch_cleanup.sh KVS_LAUNCH WORKDIR
set -u
launch=$1 work=$2
rm -rf "$work" && mkdir -p "$work/tmp"
TMPDIR="$work/tmp" "$launch" -n 1 -s 1 -- sleep 60 &
pid=$!
dir=
for _ in $(seq 100); do
  dir=$(ls -d "$work"/tmp/kvs-job-* 2>/dev/null | head -1)
  [ -n "$dir" ] && [ -f "$dir/ca.pem" ] && break
  sleep 0.1
done
[ -n "$dir" ] || { echo "no credential directory appeared in $work/tmp"; kill $pid; exit 1; }
mode=$(stat -c %a "$dir")
[ "$mode" = 700 ] || { echo "the credential directory has mode $mode, not 700"; kill $pid; exit 1; }
for f in "$dir"/*; do
  m=$(stat -c %a "$f")
  [ "$m" = 600 ] || { echo "$f has mode $m, not 600"; kill $pid; exit 1; }
done
n=$(ls "$dir"/*.key | wc -l)
[ "$n" = 3 ] || { echo "expected a key per node (3), found $n"; kill $pid; exit 1; }
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 143 ] || { echo "kvs-launch exited $rc after SIGTERM, expected 143"; exit 1; }
[ -e "$dir" ] && { echo "the credentials were left in $dir"; exit 1; }
echo "credentials in a 0700 directory, removed at SIGTERM"
