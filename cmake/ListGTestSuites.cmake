# cmake -DPROGRAM=path -DOUT=file -P ListGTestSuites.cmake
# Writes OUT: one add_test() per test suite of the GoogleTest program PROGRAM (see
# GTestSuites.cmake). Fails when the program cannot list its tests.
execute_process(COMMAND ${PROGRAM} --gtest_list_tests
                OUTPUT_VARIABLE listing RESULT_VARIABLE status TIMEOUT 120)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --gtest_list_tests failed (${status}):\n${listing}")
endif()
# Suite lines start in the first column and end with a dot, before an optional comment
# ("Typed/0.  # TypeParam = int"); case lines are indented.
string(REPLACE ";" "\\;" listing "${listing}")
string(REPLACE "\n" ";" lines "${listing}")
set(script "# Generated from ${PROGRAM} --gtest_list_tests; do not edit.\n")
set(count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ #][^ ]*)\\.( .*)?$")
    set(suite "${CMAKE_MATCH_1}")
    string(APPEND script "add_test([==[${suite}.*]==] [==[${PROGRAM}]==] [==[--gtest_filter=${suite}.*]==])\n")
    string(APPEND script "set_tests_properties([==[${suite}.*]==] PROPERTIES SKIP_RETURN_CODE 77)\n")
    math(EXPR count "${count} + 1")
  endif()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} lists no test suites")
endif()
file(WRITE ${OUT} "${script}")
