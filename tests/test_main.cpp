// main() of the GoogleTest programs. ctest runs them one test suite per process
// (cmake/GTestSuites.cmake); a suite whose cases all skipped themselves (GTEST_SKIP: no emulator
// configured, say) exits with kAllSkipped, which ctest reports as "Not Run" rather than "Passed".
// A failure anywhere still exits 1.
#include <gtest/gtest.h>

namespace {
constexpr int kAllSkipped = 77;  // SKIP_RETURN_CODE in cmake/GTestSuites.cmake
}

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    const int result = RUN_ALL_TESTS();
    const testing::UnitTest& run = *testing::UnitTest::GetInstance();
    if (result == 0 && run.successful_test_count() == 0 && run.skipped_test_count() > 0) {
        return kAllSkipped;
    }
    return result;
}
