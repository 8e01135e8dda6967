# A malformed or missing variable is an error naming it; kvs-server exits 2.
function(expect_refusal variable)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${ARGN} ${SERVER}
    RESULT_VARIABLE rc ERROR_VARIABLE err TIMEOUT 30)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "${variable}")
    message(FATAL_ERROR "expected exit 2 naming ${variable}, got ${rc}: ${err}")
  endif()
endfunction()
expect_refusal("DMLC_PS_ROOT_PORT='9x'" DMLC_ROLE=server DMLC_PS_ROOT_URI=127.0.0.1
  DMLC_PS_ROOT_PORT=9x DMLC_NUM_WORKER=1 DMLC_NUM_SERVER=1)
expect_refusal("DMLC_ROLE" DMLC_ROLE=chef DMLC_PS_ROOT_URI=127.0.0.1
  DMLC_PS_ROOT_PORT=9000 DMLC_NUM_WORKER=1 DMLC_NUM_SERVER=1)
expect_refusal("DMLC_NUM_WORKER" DMLC_ROLE=server DMLC_PS_ROOT_URI=127.0.0.1
  DMLC_PS_ROOT_PORT=9000 DMLC_NUM_SERVER=1)
