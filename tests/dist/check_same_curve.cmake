# Runs examples/04_train_mlp locally and through kvs-launch (2 workers,
# dist_sync) and requires the same progress lines but for samples/s: the
# same loss (to 4 decimals) and accuracies after every epoch.
function(curve out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE err
    TIMEOUT 150)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "exited with ${rc}: ${ARGN}\n${text}${err}")
  endif()
  string(REGEX MATCHALL "epoch [0-9]+  loss [0-9.]+  train accuracy [0-9.]+%  test accuracy [0-9.]+%"
    lines "${text}")
  list(LENGTH lines n)
  if(n EQUAL 0)
    message(FATAL_ERROR "no progress lines from ${ARGN}:\n${text}${err}")
  endif()
  message("${ARGN}:\n${text}")
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()
curve(local ${EXAMPLE} --store local)
curve(dist ${LAUNCH} -n 2 -s 1 -- ${EXAMPLE} --store dist_sync)
if(NOT local STREQUAL dist)
  message(FATAL_ERROR "the curves differ:\nlocal: ${local}\ndist_sync: ${dist}")
endif()
