# Runs cmmsim with ARGS ('|'-separated) and checks its exit status (RC,
# default 2: bad input) and that stderr matches EXPECT. A refused input must
# be refused before the simulation: no summary on stdout.
if(NOT DEFINED RC)
  set(RC 2)
endif()
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${CMMSIM} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "${RC}")
  message(FATAL_ERROR "cmmsim ${args}: exit ${rc}, expected ${RC}\nstderr: ${err}")
endif()
if(NOT err MATCHES "${EXPECT}")
  message(FATAL_ERROR "cmmsim ${args}: stderr does not match '${EXPECT}':\n${err}")
endif()
if(RC EQUAL 2 AND out MATCHES "scoreboard")
  message(FATAL_ERROR "cmmsim ${args}: simulated before refusing the input:\n${out}")
endif()
message(STATUS "cmmsim ${args}: exit ${rc}, ${err}")
