// kvs-server: runs a distributed node that is not a worker: the scheduler
// or a server, as DMLC_ROLE says, with the cluster from DMLC_* variables.
// Serves until the job ends, then exits 0; a bad setting exits 2 saying
// which variable is wrong; a failed job (a node that never registered, a
// dead scheduler) exits 1 saying why.
//
// Run:   DMLC_ROLE=server DMLC_PS_ROOT_URI=127.0.0.1 DMLC_PS_ROOT_PORT=9091
//        DMLC_NUM_WORKER=2 DMLC_NUM_SERVER=1 ./build/tools/kvs-server  (one line)
#include <iostream>

#include <kvs/kvs.hpp>

int main() {
  try {
    kvs::serve(kvs::config{});
  } catch (const kvs::error& e) {
    std::cerr << "kvs-server: " << e.what() << "\n";
    return e.code() == kvs::errc::invalid_config ? 2 : 1;
  }
  return 0;
}
