# keybridge_add_gtest_suites(TARGET): registers one ctest test per GoogleTest
# suite of TARGET, named "Suite.*" and run as `TARGET --gtest_filter=Suite.*`.
#
# Why not gtest_discover_tests (one process per test case): under the sanitizers each start of a
# test program costs 0.3-0.5 s of CPU before any test runs (ASan registering the program's
# globals, LeakSanitizer's scan at exit), and the suite has about a thousand cases in under two
# hundred suites (docs/ARCHITECTURE.md, "The test suite's time"). Cases of one suite share a
# process, as they do when a test program runs on its own. The list is made after each link, by
# running the program with --gtest_list_tests (cmake/ListGTestSuites.cmake). Link the program
# with keybridge_test_main: a suite whose cases all skip exits 77, reported as not run.
function(keybridge_add_gtest_suites target)
  set(list_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake")
  add_custom_command(
    TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${target}> -DOUT=${list_file}
            -P ${PROJECT_SOURCE_DIR}/cmake/ListGTestSuites.cmake
    BYPRODUCTS ${list_file}
    VERBATIM)
  # ctest reads the list when the program has been built; before that, one failing test says so.
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake")
  file(WRITE ${include_file}
       "if(EXISTS \"${list_file}\")\n  include(\"${list_file}\")\nelse()\n"
       "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()
