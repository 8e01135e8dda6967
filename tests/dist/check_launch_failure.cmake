execute_process(COMMAND ${LAUNCH} -n 2 -s 1 -- ${JOB} exit3
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out TIMEOUT 60)
if(NOT rc EQUAL 3)
  message(FATAL_ERROR "kvs-launch exited with ${rc}, expected 3\n${err}")
endif()
if(NOT err MATCHES "worker [01] \\(pid [0-9]+\\) exited with code 3")
  message(FATAL_ERROR "kvs-launch did not name the failing worker:\n${err}")
endif()
