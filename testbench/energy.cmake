# Energy per component (issue 12 item 5, docs/energy.md); included once by
# testbench/CMakeLists.txt.
include_guard(GLOBAL)
target_sources(cmm_tb PRIVATE ${CMAKE_CURRENT_LIST_DIR}/energy.cpp)
cmm_test(cmm_tb_energy_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/energy_test.cpp LIBS cmm_tb LABELS "unit;config")
# A whole run: totals equal the sum of the components, stats.json carries them.
cmm_test(cmm_system_energy_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/system_energy_test.cpp LIBS cmm_system
         LABELS "system")
# Bad energy parameters refused before the run, naming the source and the key
# (once the scenario reads the `energy` key: scenario.cpp calls EnergyParams::from_json).
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/scenario.cpp _cmm_energy_key REGEX "EnergyParams::from_json")
if(_cmm_energy_key AND COMMAND cmmsim_input_test)
  set(_etd ${CMAKE_CURRENT_LIST_DIR}/testdata)
  cmmsim_input_test(energy_negative_in_file
    "energy_negative.json: key 'energy.link_cable_pj_per_bit' has value -35 \\(allowed: a number >= 0, pJ/bit"
    --config ${_etd}/energy_negative.json)
  cmmsim_input_test(energy_unknown_in_file "energy_bad_key.json: unknown key 'energy.xbar_pj' \\(allowed: profile, "
    --config ${_etd}/energy_bad_key.json)
  cmmsim_input_test(energy_set_nan "--set energy.crossbar_pj=nan: key 'energy.crossbar_pj' has value \"nan\""
    --set energy.crossbar_pj=nan)
  cmmsim_input_test(energy_set_negative "--set energy.alloc_pj=-1: key 'energy.alloc_pj' has value -1 \\(allowed: a number >= 0"
    --set energy.alloc_pj=-1)
endif()
