# Included by CTest after Catch's discovery files (tests/CMakeLists.txt): the
# cases registered with the "ucx:" prefix run with every part, however
# small, sent over the UCX data plane. (Catch's PROPERTIES cannot carry a
# list value such as two environment variables.)
foreach(_test IN LISTS kvs_tests_TESTS)
  if(_test MATCHES "^ucx:")
    set_tests_properties("${_test}" PROPERTIES ENVIRONMENT "KVS_TRANSPORT=ucx;KVS_UCX_MIN_BYTES=1")
  endif()
endforeach()
