# Fails when an #include runs against the layers (docs/architecture.md,
# "Layers"): store/ uses actors/, which use serialization/, messages/, core/
# and gpu/; serialization/ uses messages/ and core/; messages/ names values
# through the public headers alone (not core/); core/ uses gpu/ for device
# memory; gpu/ uses the public headers alone; include/kvs nothing of ours.
# Run: cmake -DSOURCE=<source tree> -P tests/check_layers.cmake
if(NOT SOURCE)
  message(FATAL_ERROR "usage: cmake -DSOURCE=<source tree> -P check_layers.cmake")
endif()

# folder -> the top-level folders its files must not include
set(forbidden_include_kvs "core|actors|store|messages|serialization|gpu")
set(forbidden_core "actors|store|messages|serialization")
set(forbidden_gpu "core|actors|store|messages|serialization")
set(forbidden_messages "core|actors|store|serialization|gpu")
set(forbidden_serialization "actors|store")
set(forbidden_actors "store")
set(forbidden_store "")

set(violations "")
foreach(folder include/kvs core gpu messages serialization actors store)
  string(REPLACE "/" "_" name ${folder})
  set(banned "${forbidden_${name}}")
  file(GLOB_RECURSE files ${SOURCE}/${folder}/*.hpp ${SOURCE}/${folder}/*.cpp
       ${SOURCE}/${folder}/*.cu ${SOURCE}/${folder}/*.cuh)
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel ${SOURCE} ${f})
    file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" path "${line}")
      if(path MATCHES "^\\.\\./")
        list(APPEND violations "${rel}: includes \"${path}\" (name headers from the source root)")
      elseif(NOT banned STREQUAL "" AND path MATCHES "^(${banned})/")
        list(APPEND violations "${rel}: includes \"${path}\" but ${folder}/ must not use ${CMAKE_MATCH_1}/")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(LENGTH violations n)
  string(REPLACE ";" "\n  " text "${violations}")
  message(FATAL_ERROR "${n} include(s) against the layers:\n  ${text}")
endif()
message(STATUS "layers: every include runs downward")
