# Included by CTest after Catch's discovery files (tests/CMakeLists.txt): the
# cases registered with the "shm:" prefix run with KVS_TRANSPORT=shm (strict:
# they fail where a worker cannot share memory with a server) and
# KVS_SHM_MIN_BYTES=1, so every plain push part (dense, or a row_sparse
# push's rows) and single-output pull part (of rows too) goes through the
# segment. Init, compressed pushes, row ids and multi-output pulls stay in
# CAF's messages by design (docs/distributed.md, "Two planes").
# kvs_tests_TESTS is the list of the discovery file included last (the shm:
# registration): if it names no shm: case (empty, or the order changed),
# this fails rather than run them all without shared memory unnoticed.
set(_kvs_shm_cases 0)
foreach(_test IN LISTS kvs_tests_TESTS)
  if(_test MATCHES "^shm:")
    set_tests_properties("${_test}" PROPERTIES ENVIRONMENT "KVS_TRANSPORT=shm;KVS_SHM_MIN_BYTES=1")
    math(EXPR _kvs_shm_cases "${_kvs_shm_cases} + 1")
  endif()
endforeach()
if(_kvs_shm_cases EQUAL 0)
  message(FATAL_ERROR "tests/dist/shm_environment.cmake: no shm: case in kvs_tests_TESTS "
                      "(Catch's discovery file for the shm: registration must be included last)")
endif()
