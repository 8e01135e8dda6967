# FindCAF: locates the C++ Actor Framework (core, io and openssl), which
# ships no CMake package on Debian. Defines CAF_FOUND, CAF_VERSION and the
# imported targets CAF::core, CAF::io and CAF::openssl (CAF's TLS
# transport, which links OpenSSL, found with CMake's FindOpenSSL).
# Hints: CAF_ROOT_DIR (a prefix with include/ and lib/).
include(FindPackageHandleStandardArgs)

find_path(CAF_INCLUDE_DIR NAMES caf/config.hpp
          HINTS ${CAF_ROOT_DIR} ENV CAF_ROOT_DIR PATH_SUFFIXES include)
find_library(CAF_CORE_LIBRARY NAMES caf_core
             HINTS ${CAF_ROOT_DIR} ENV CAF_ROOT_DIR PATH_SUFFIXES lib lib64)
find_library(CAF_IO_LIBRARY NAMES caf_io
             HINTS ${CAF_ROOT_DIR} ENV CAF_ROOT_DIR PATH_SUFFIXES lib lib64)
find_library(CAF_OPENSSL_LIBRARY NAMES caf_openssl
             HINTS ${CAF_ROOT_DIR} ENV CAF_ROOT_DIR PATH_SUFFIXES lib lib64)
find_package(OpenSSL)

if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  # CAF_VERSION is written as MAJOR * 10000 + MINOR * 100 + PATCH.
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" _caf_version_num "${_caf_version_line}")
  if(_caf_version_num)
    math(EXPR _caf_major "${_caf_version_num} / 10000")
    math(EXPR _caf_minor "(${_caf_version_num} / 100) % 100")
    math(EXPR _caf_patch "${_caf_version_num} % 100")
    set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
  endif()
endif()

find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_IO_LIBRARY CAF_OPENSSL_LIBRARY
                OPENSSL_FOUND
  VERSION_VAR CAF_VERSION)

if(CAF_FOUND)
  find_package(Threads REQUIRED)
  if(NOT TARGET CAF::core)
    add_library(CAF::core UNKNOWN IMPORTED)
    set_target_properties(CAF::core PROPERTIES
      IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
  if(NOT TARGET CAF::io)
    add_library(CAF::io UNKNOWN IMPORTED)
    set_target_properties(CAF::io PROPERTIES
      IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
      INTERFACE_LINK_LIBRARIES CAF::core)
  endif()
  if(NOT TARGET CAF::openssl)
    add_library(CAF::openssl UNKNOWN IMPORTED)
    set_target_properties(CAF::openssl PROPERTIES
      IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
      INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL")
  endif()
endif()
mark_as_advanced(CAF_INCLUDE_DIR CAF_CORE_LIBRARY CAF_IO_LIBRARY CAF_OPENSSL_LIBRARY)
