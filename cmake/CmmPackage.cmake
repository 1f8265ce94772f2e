# Installation and the exported package (find_package(cmm)): the core, the
# generated register map, the TLM shells and fabrics, and the driver. Kept in
# one place: the layer directories declare build-tree include paths, this
# file maps them to the installed layout (include/cmm).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CMM_INSTALL_INC ${CMAKE_INSTALL_INCLUDEDIR}/cmm)
set(CMM_PACKAGE_TARGETS cmm_regs cmm_core cmm_sw cmm_tlm)
foreach(t ${CMM_PACKAGE_TARGETS})
  get_target_property(dirs ${t} INTERFACE_INCLUDE_DIRECTORIES)
  set(mapped "")
  foreach(d ${dirs})
    list(APPEND mapped "$<BUILD_INTERFACE:${d}>")
  endforeach()
  list(APPEND mapped "$<INSTALL_INTERFACE:${CMM_INSTALL_INC}>")
  set_target_properties(${t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${mapped}")
endforeach()
set_target_properties(cmm_regs PROPERTIES EXPORT_NAME regs)
set_target_properties(cmm_core PROPERTIES EXPORT_NAME core)
set_target_properties(cmm_sw PROPERTIES EXPORT_NAME sw)
set_target_properties(cmm_tlm PROPERTIES EXPORT_NAME tlm)

install(TARGETS ${CMM_PACKAGE_TARGETS} EXPORT cmmTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Public headers: the core's pin-level API (not its tests' helpers), the
# generated register map, the shells and the driver.
install(FILES hw/src/cmm_core.h hw/src/cmm_core_model.h hw/src/cmm_pins.h hw/src/cmm_siphash.h
              ${CMM_GEN_DIR}/cmm_regs.h
        DESTINATION ${CMM_INSTALL_INC})
install(DIRECTORY tlm/include/cmm_tlm sw/include/cmm_sw DESTINATION ${CMM_INSTALL_INC})
install(FILES hw/data/cmm.toml docs/registers.md DESTINATION ${CMAKE_INSTALL_DATADIR}/cmm)
install(EXPORT cmmTargets NAMESPACE cmm:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cmm)
configure_package_config_file(cmake/cmmConfig.cmake.in ${CMAKE_BINARY_DIR}/cmmConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cmm)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmmConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmmConfig.cmake ${CMAKE_BINARY_DIR}/cmmConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cmm)

# The out-of-tree example finds the installed package, builds and runs.
add_test(NAME package_embed_example
  COMMAND ${CMAKE_COMMAND} -DBUILD=${CMAKE_BINARY_DIR} -DSRC=${CMAKE_SOURCE_DIR}/examples/embed
          -DWORK=${CMAKE_BINARY_DIR}/embed-check -DCXX=${CMAKE_CXX_COMPILER}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_check.cmake)
set_tests_properties(package_embed_example PROPERTIES LABELS "package" TIMEOUT 600)
