# Included by CTest after Catch's discovery files (tests/CMakeLists.txt): the
# cases registered with the "shm:" prefix run with every part, however small,
# placed in shared memory, and fail where a worker cannot share memory with
# a server (KVS_TRANSPORT=shm is strict).
foreach(_test IN LISTS kvs_tests_TESTS)
  if(_test MATCHES "^shm:")
    set_tests_properties("${_test}" PROPERTIES ENVIRONMENT "KVS_TRANSPORT=shm;KVS_SHM_MIN_BYTES=1")
  endif()
endforeach()
