#pragma once

// KEYBRIDGE_ASSERT guards invariants whose violation makes continuing unsafe. It is enabled in
// every build type. Never use it on data from a client, a device, a file or the OS.
#define KEYBRIDGE_ASSERT(cond)                                                       \
    do {                                                                             \
        if (!(cond)) ::keybridge::core::assertion_failed(#cond, __FILE__, __LINE__); \
    } while (0)

namespace keybridge::core {
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line);
}
