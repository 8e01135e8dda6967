# Runs the command given after "--" (cmake [-D...] -P check_output.cmake --
# command args...), requires exit code 0 and requires its output (stdout and
# stderr together) to match every regular expression EXPECT0..EXPECT9 given.
# A PASS_REGULAR_EXPRESSION alone would ignore the exit code.
set(cmd)
set(after_dashes FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_dashes)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_dashes TRUE)
  endif()
endforeach()
if(NOT cmd)
  message(FATAL_ERROR "usage: cmake [-DEXPECT0=regex ...] -P check_output.cmake -- command...")
endif()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 100)
endif()
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
  TIMEOUT ${TIMEOUT})
set(all "${out}${err}")
# The output first, as it is (FATAL_ERROR text is reflowed).
message("${all}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exited with ${rc}, expected 0: ${cmd}")
endif()
foreach(i RANGE 9)
  if(DEFINED EXPECT${i} AND NOT all MATCHES "${EXPECT${i}}")
    message(FATAL_ERROR "exited 0, but the output above does not match \"${EXPECT${i}}\"")
  endif()
endforeach()
