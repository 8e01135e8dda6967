# A malformed variable is an error naming it; kvs-server exits 2.
execute_process(COMMAND ${CMAKE_COMMAND} -E env DMLC_ROLE=server DMLC_PS_ROOT_URI=127.0.0.1
  DMLC_PS_ROOT_PORT=9x DMLC_NUM_WORKER=1 DMLC_NUM_SERVER=1 ${SERVER}
  RESULT_VARIABLE rc ERROR_VARIABLE err TIMEOUT 30)
if(NOT rc EQUAL 2 OR NOT err MATCHES "DMLC_PS_ROOT_PORT='9x'")
  message(FATAL_ERROR "expected exit 2 naming DMLC_PS_ROOT_PORT, got ${rc}: ${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env DMLC_ROLE=chef DMLC_PS_ROOT_URI=127.0.0.1
  DMLC_PS_ROOT_PORT=9000 DMLC_NUM_WORKER=1 DMLC_NUM_SERVER=1 ${SERVER}
  RESULT_VARIABLE rc ERROR_VARIABLE err TIMEOUT 30)
if(NOT rc EQUAL 2 OR NOT err MATCHES "DMLC_ROLE")
  message(FATAL_ERROR "expected exit 2 naming DMLC_ROLE, got ${rc}: ${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env DMLC_ROLE=server DMLC_PS_ROOT_URI=127.0.0.1
  DMLC_PS_ROOT_PORT=9000 DMLC_NUM_SERVER=1 ${SERVER}
  RESULT_VARIABLE rc ERROR_VARIABLE err TIMEOUT 30)
if(NOT rc EQUAL 2 OR NOT err MATCHES "DMLC_NUM_WORKER")
  message(FATAL_ERROR "expected exit 2 naming DMLC_NUM_WORKER, got ${rc}: ${err}")
endif()
