# Runs noc_load (-DNOC_LOAD=...) with -DARGS="..." (space separated) and compares its
# output, without the wall-time columns (wall_s, cycles_per_s, flits_per_s),
# with the file -DGOLDEN=...: the fabric's results (every NocStats counter,
# via --dump-stats) must not change when the network step is restructured
# for speed. Regenerate a golden file only for an intended model change:
#   cmake -DNOC_LOAD=build/tlm/noc_load -DARGS="..." -DGOLDEN=... -DUPDATE=1 -P tlm/test/noc_golden_check.cmake
separate_arguments(argv UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${NOC_LOAD} ${argv} --dump-stats
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "noc_load failed (${rc}): ${err}")
endif()
set(f "[^,\n]*")
string(REGEX REPLACE "(^|\n)(${f},${f},${f},${f},${f},${f},${f},${f},${f}),${f},${f},${f}," "\\1\\2," out "${out}")
if(UPDATE)
  file(WRITE ${GOLDEN} "${out}")
  return()
endif()
file(READ ${GOLDEN} want)
if(NOT out STREQUAL want)
  file(WRITE ${GOLDEN}.actual "${out}")
  message(FATAL_ERROR "noc_load output differs from ${GOLDEN} (actual written to ${GOLDEN}.actual)")
endif()
