# Before/after identity of the testbench (issue 10 item 6): a short default
# run's statistics (stats.txt without its '#' provenance lines), row.csv, time
# series, Perfetto trace and VCD, each hashed, must match GOLDEN
# (testbench/golden/default_seed3.sha256). same_seed_check.cmake checks that a
# build is deterministic; this checks that a change kept the outputs. When a
# change is MEANT to change same-seed outputs, regenerate the digest and say so
# in the commit:
#   cmake --build build --target cmmsim_golden_update
# The digests are of this platform's build (Debian's GCC and libm): doubles in
# the statistics are printed shortest-round-trip, so another libm may differ.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${CMMSIM} --seed 3 --messages 40 -q --no-progress -o ${OUT} --trace ${OUT}/trace.json
                        --vcd ${OUT}/pins.vcd --set stats_interval_cycles=500 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmmsim failed (exit ${rc}): see ${OUT}/summary.txt")
endif()
file(READ ${OUT}/stats.txt stats)
string(REGEX REPLACE "^#[^\n]*\n" "" stats "${stats}")
string(REGEX REPLACE "\n#[^\n]*" "" stats "${stats}")
string(SHA256 h_stats "${stats}")
set(digest "stats.txt ${h_stats}\n")
foreach(f row.csv timeseries.csv trace.json pins.vcd)
  file(SHA256 ${OUT}/${f} h)
  string(APPEND digest "${f} ${h}\n")
endforeach()
if(WRITE)
  file(WRITE ${GOLDEN} "${digest}")
  message(STATUS "wrote ${GOLDEN}")
  return()
endif()
file(READ ${GOLDEN} want)
if(NOT digest STREQUAL want)
  file(WRITE ${OUT}/digest.txt "${digest}")
  message(FATAL_ERROR "same-seed outputs changed (outputs in ${OUT}):\n--- expected (${GOLDEN})\n${want}--- got\n${digest}"
                      "If the change is intended: cmake --build <build> --target cmmsim_golden_update")
endif()
message(STATUS "same-seed outputs identical to ${GOLDEN}")
