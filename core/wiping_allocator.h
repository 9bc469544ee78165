#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <boost/json/storage_ptr.hpp>

#include "core/secret_buffer.h"

namespace keybridge::core {

// For buffers a secret passes through on its way into a SecretBuffer (network read buffers,
// HTTP request bodies and headers, parsed JSON): ordinary memory, wiped when it is released.
// Wiping on release rather than at chosen points is what makes it hold however the buffer grew
// (every reallocation releases the old block) and whichever request turns out to carry a
// password. Stateless: all instances are equal.
template <class T>
struct WipingAllocator {
    using value_type = T;

    WipingAllocator() = default;
    template <class U>
    WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

    T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept {
        secure_wipe(p, n * sizeof(T));
        std::allocator<T>{}.deallocate(p, n);
    }

    template <class U>
    friend bool operator==(const WipingAllocator&, const WipingAllocator<U>&) noexcept {
        return true;
    }
};

using WipingString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

// Boost.JSON storage that wipes every block it releases (same idea as WipingAllocator). A value
// keeps the storage it was made with through copies and moves, so parse into it and construct
// (not assign) the copies that outlive the parse. Process-wide, thread-safe.
boost::json::storage_ptr wiping_json_storage();

}  // namespace keybridge::core
