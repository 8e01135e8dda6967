#!/usr/bin/env bash
# The distributed benchmark: kvs dist_sync pushpull with 2 workers and 2
# servers on loopback, then OpenMPI's MPI_Allreduce with 2 ranks over TCP on
# the same sizes (when OpenMPI is installed: apt-get install libopenmpi-dev
# openmpi-bin, then rebuild).
# Run:   bench/dist_pushpull.sh [RUNS=15]     (after tools/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
./build/tools/kvs-launch -n 2 -s 2 -- ./build/bench/dist_pushpull "$runs"
if [ -x build/bench/mpi_allreduce ]; then
  mpirun --allow-run-as-root --oversubscribe -np 2 --mca btl tcp,self --mca btl_tcp_if_include lo \
    ./build/bench/mpi_allreduce "$runs"
else
  echo "mpi_allreduce: not built (OpenMPI not found)"
fi
