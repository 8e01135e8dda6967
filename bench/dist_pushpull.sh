#!/usr/bin/env bash
# The distributed benchmark: kvs dist_sync pushpull with 2 workers and 2
# servers on loopback, then OpenMPI's MPI_Allreduce with 2 ranks over TCP on
# the same sizes (when OpenMPI is installed: apt-get install libopenmpi-dev
# openmpi-bin, then rebuild).
# Run:   bench/dist_pushpull.sh [RUNS=15]     (after tools/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
# The same job with plain TCP and with mutual TLS (docs/security.md), side
# by side, then the ratio of their times per line (TLS / plain).
# (A job that fails while it ends has printed its figures; kvs-launch says
# why on stderr.)
plain=$(./build/tools/kvs-launch -n 2 -s 2 --env KVS_SECURE:0 -- ./build/bench/dist_pushpull "$runs") || true
tls=$(./build/tools/kvs-launch -n 2 -s 2 --env KVS_SECURE:1 -- ./build/bench/dist_pushpull "$runs") || true
echo "$plain"
echo "$tls"
echo "TLS cost (time with KVS_SECURE=1 / time with KVS_SECURE=0):"
paste -d '|' <(echo "$plain") <(echo "$tls") | awk -F'|' '
  /ms/ { split($1, a, ":"); split(a[2], p, " "); split($2, b, ":"); split(b[2], t, " ");
         printf "  %-20s %8.3f ms -> %8.3f ms   x%.2f\n", a[1], p[1], t[1], t[1] / p[1] }'
if [ -x build/bench/mpi_allreduce ]; then
  mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl tcp,self --mca btl_tcp_if_include lo \
    ./build/bench/mpi_allreduce "$runs"
else
  echo "mpi_allreduce: not built (OpenMPI not found)"
fi
