// bench/mpi_allreduce: the reference point for dist_pushpull: MPI_Allreduce
// (sum, float) of the same sizes, median of RUNS after 3 warm-ups.
//
// Run:    mpirun -np 2 --mca btl tcp,self ./build/bench/mpi_allreduce [RUNS=15]
// Prints (rank 0): ms and GB/s per size.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int runs = argc > 1 ? std::max(10, std::atoi(argv[1])) : 15;
  if (rank == 0)
    std::printf("mpi_allreduce: %d ranks, median of %d\n", size, runs);
  for (long bytes : {4L << 10, 1L << 20, 16L << 20, 64L << 20}) {
    std::vector<float> in(bytes / 4, 1.0f), out(bytes / 4);
    auto samples = kvs::bench::time_runs(3, runs, [&] {
      MPI_Allreduce(in.data(), out.data(), static_cast<int>(in.size()), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    });
    double s = kvs::bench::quantile(samples, 0.5);
    if (rank == 0)
      std::printf("  %6ld KB: %8.3f ms   %6.2f GB/s\n", bytes >> 10, s * 1e3, bytes / s / 1e9);
  }
  std::vector<float> in(1024, 1.0f), out(1024);
  auto samples = kvs::bench::time_runs(3, runs, [&] {
    for (int k = 0; k < 1000; ++k)
      MPI_Allreduce(in.data(), out.data(), 1024, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  });
  double s = kvs::bench::quantile(samples, 0.5);
  if (rank == 0)
    std::printf("  1000 x 4 KB: %8.3f ms   %.0f keys/s\n", s * 1e3, 1000 / s);
  MPI_Finalize();
  return 0;
}
