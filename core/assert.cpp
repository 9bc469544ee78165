#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace keybridge::core {

void assertion_failed(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "keybridge: internal invariant violated: %s (%s:%d)\n", expr, file, line);
    std::abort();
}

}  // namespace keybridge::core
