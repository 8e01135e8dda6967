# A scheduler whose cluster never completes logs what it waits for, then
# exits 1 naming the missing nodes: as kvs-server (SERVER) and as a program
# that serves inside kvs::create (JOB).
# A random port: nobody connects, so only a port in use could disturb it.
string(RANDOM LENGTH 4 ALPHABET 0123456789 r)
math(EXPR PORT "20000 + ${r} % 20000")
function(expect_give_up)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env DMLC_ROLE=scheduler
    DMLC_PS_ROOT_URI=127.0.0.1 DMLC_PS_ROOT_PORT=${PORT} DMLC_NUM_WORKER=2 DMLC_NUM_SERVER=1
    KVS_STARTUP_TIMEOUT=2500 KVS_STALL_WARNING=1 ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
  set(missing "workers: 0 of 2 registered \\(ranks 0, 1 missing\\); servers: 0 of 1 registered \\(rank 0 missing\\)")
  string(REGEX MATCHALL "kvs scheduler: waiting [0-9.]+ s for the cluster: ${missing}" warnings "${err}")
  list(LENGTH warnings n)
  if(NOT rc EQUAL 1 OR n LESS 2 OR NOT err MATCHES "after 2500 ms \\(startup_timeout, KVS_STARTUP_TIMEOUT\\): ${missing}")
    message(FATAL_ERROR "${ARGN}: expected exit 1, 2 warnings and the missing nodes named; got ${rc}, ${n} warnings:\n${out}${err}")
  endif()
  message("${ARGN}: exit ${rc}\n${err}")
endfunction()
expect_give_up(${SERVER})
expect_give_up(${JOB} ranks)
