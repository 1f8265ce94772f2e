# Topologies, switches and routing (issue 12): sources added to cmm_tlm and
# their tests. Included from tlm/CMakeLists.txt.
target_sources(cmm_tlm PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src/topo.cpp)
cmm_test(tlm_noc_topo_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test/noc_topo_test.cpp LIBS cmm_tlm LABELS "unit")

# cmm_topo: graph dump (docs/img figures), CDG check and zero-load table.
add_executable(cmm_topo ${CMAKE_CURRENT_SOURCE_DIR}/src/topo_main.cpp)
target_link_libraries(cmm_topo PRIVATE cmm_tlm CLI11::CLI11)
add_test(NAME cmm_topo_cdg_dragonfly COMMAND cmm_topo --topology dragonfly --df-a 4 --df-p 2 --df-h 2 --cdg)
set_tests_properties(cmm_topo_cdg_dragonfly PROPERTIES LABELS "unit" PASS_REGULAR_EXPRESSION "acyclic")
# The same routing without the global-link VC set has a cyclic CDG: exit 1.
add_test(NAME cmm_topo_cdg_dragonfly_no_vc_sets
  COMMAND cmm_topo --topology dragonfly --df-a 4 --df-p 2 --df-h 2 --cdg --no-vc-sets)
set_tests_properties(cmm_topo_cdg_dragonfly_no_vc_sets PROPERTIES LABELS "unit" WILL_FAIL TRUE)
add_test(NAME cmm_topo_bad_file COMMAND cmm_topo --topology file --topo-file ${CMAKE_CURRENT_SOURCE_DIR}/fabric.cmake)
set_tests_properties(cmm_topo_bad_file PROPERTIES LABELS "unit" WILL_FAIL TRUE)
# BookSim2 comparison options (docs/fabric.md): UGAL through an intermediate
# router is deadlock-free with 4 VC sets; BookSim2's own 3 phase VCs are not.
add_test(NAME cmm_topo_cdg_dragonfly_ugal_via_router
  COMMAND cmm_topo --topology dragonfly --df-a 4 --df-p 2 --df-h 2 --routing ugal --vcs 4 --valiant-router --cdg)
set_tests_properties(cmm_topo_cdg_dragonfly_ugal_via_router PROPERTIES LABELS "unit" PASS_REGULAR_EXPRESSION "acyclic")
add_test(NAME cmm_topo_cdg_dragonfly_ugal_phase_vcs
  COMMAND cmm_topo --topology dragonfly --df-a 4 --df-p 2 --df-h 2 --routing ugal --vcs 3 --valiant-router --phase-vcs --cdg)
# BookSim2's one-VC-per-phase scheme is cyclic: the check must find the cycle (not merely fail).
set_tests_properties(cmm_topo_cdg_dragonfly_ugal_phase_vcs PROPERTIES LABELS "unit" PASS_REGULAR_EXPRESSION "CYCLIC.*cycle: ")
