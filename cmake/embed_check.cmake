# Installs the build tree's package into a fresh prefix, configures and builds
# examples/embed against it (no path into the source or build tree), runs it:
# the message arrives, and the loosely-timed CPU's accesses never waited.
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${WORK}/prefix
                        -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "configure of the example failed: ${rc}\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build -j2
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "build of the example failed: ${rc}\n${out}\n${err}")
endif()
execute_process(COMMAND ${WORK}/build/embed RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(rc OR NOT out MATCHES "embed: delivered \"hello across the fabric\"")
  message(FATAL_ERROR "the example did not deliver its message (exit ${rc})\n${err}")
endif()
# Node 2's CPU is loosely timed: its accesses went through b_transport, and
# the CMM answered every one without waiting.
if(NOT out MATCHES "embed: node 2 loosely timed: [1-9][0-9]* register accesses by b_transport, [0-9]+ CPU synchronisations, 0 waits inside the CMM")
  message(FATAL_ERROR "the example's loosely-timed CPU did not use b_transport without waits\n${out}")
endif()
