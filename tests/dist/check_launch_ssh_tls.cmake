# A job across two "hosts", 127.0.0.2 and 127.0.0.3 (a fake ssh first on
# PATH runs each remote command here and logs it), with TLS on: every node
# binds and advertises its host's address, holds a certificate of the
# job's fresh authority, and a client without one is refused (dist_job's
# secure mode checks that from inside the job). The private keys travel on
# ssh's standard input, never on a command line, and no credential file is
# left behind.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/bin ${WORK}/tmp)
file(WRITE ${WORK}/bin/ssh "#!/bin/sh\n# ssh -o X HOST CMD\nhost=\"$3\"; shift 3\necho \"$host $*\" >> ${WORK}/ssh.log\nexec sh -c \"$*\"\n")
file(CHMOD ${WORK}/bin/ssh PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
file(WRITE ${WORK}/hosts "127.0.0.2\n127.0.0.3\n")
set(ENV{PATH} "${WORK}/bin:$ENV{PATH}")
set(ENV{TMPDIR} "${WORK}/tmp")
execute_process(COMMAND ${LAUNCH} --launcher ssh -H ${WORK}/hosts -n 2 -s 2 --env KVS_SECURE:1
  -- ${JOB} secure
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out TIMEOUT 100)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "kvs-launch --launcher ssh with TLS exited with ${rc}\n${err}\n${out}")
endif()
foreach(want "rank 0: rounds ok" "rank 1: rounds ok"
        "rank 0: a client without a certificate is refused by the scheduler")
  string(FIND "${out}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the job did not print \"${want}\":\n${out}\n${err}")
  endif()
endforeach()
file(READ ${WORK}/ssh.log log)
foreach(want "127.0.0.2 sh -c " "127.0.0.3 sh -c " "DMLC_NODE_HOST='\\''127.0.0.2'\\''"
        "DMLC_NODE_HOST='\\''127.0.0.3'\\''" "DMLC_PS_ROOT_URI='\\''127.0.0.1'\\''"
        "KVS_TLS_KEY=")
  string(FIND "${log}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "ssh was not asked for \"${want}\":\n${log}")
  endif()
endforeach()
string(FIND "${log}" "PRIVATE KEY" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "a private key is on an ssh command line:\n${log}")
endif()
file(GLOB_RECURSE left ${WORK}/tmp/*)
file(GLOB left_dirs ${WORK}/tmp/*)
if(left OR left_dirs)
  message(FATAL_ERROR "credentials left behind: ${left} ${left_dirs}")
endif()
