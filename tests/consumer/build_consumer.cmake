# Builds and runs tests/consumer: MODE=subdir (add_subdirectory of the source
# tree) or MODE=installed (cmake --install of the build tree into a prefix,
# then find_package(kvs CONFIG)).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
if(MODE STREQUAL "subdir")
  run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DKVS_SOURCE=${KVS_SOURCE}
      -DCMAKE_BUILD_TYPE=Release)
else()
  run(${CMAKE_COMMAND} --install ${KVS_BUILD} --prefix ${WORK}/prefix)
  # The public headers are include/kvs/*.hpp alone: no protocol, no wire format.
  file(GLOB_RECURSE installed RELATIVE ${WORK}/prefix/include ${WORK}/prefix/include/*)
  foreach(h IN LISTS installed)
    if(NOT h MATCHES "^kvs/[a-z_]+\\.hpp$")
      message(FATAL_ERROR "installed a private header: include/${h}")
    endif()
  endforeach()
  run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${WORK}/prefix
      -DCMAKE_BUILD_TYPE=Release)
endif()
run(${CMAKE_COMMAND} --build ${WORK}/build -j 2)
run(${WORK}/build/consumer)
