#include "core/wiping_allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include <boost/json/memory_resource.hpp>

namespace keybridge::core {
namespace {

class WipingResource final : public boost::json::memory_resource {
    void* do_allocate(std::size_t bytes, std::size_t align) override {
        void* p = align <= alignof(std::max_align_t)
                      ? std::malloc(bytes)
                      : std::aligned_alloc(align, (bytes + align - 1) / align * align);
        if (p == nullptr) throw std::bad_alloc();
        return p;
    }
    // Boost.JSON does not always release a block with the size it asked for (a key string on
    // an error path), so the whole block malloc handed out is wiped, whatever `bytes` says.
    void do_deallocate(void* p, std::size_t, std::size_t) override {
        secure_wipe(p, ::malloc_usable_size(p));
        std::free(p);
    }
    bool do_is_equal(const boost::json::memory_resource& other) const noexcept override {
        return this == &other;
    }
};

}  // namespace

boost::json::storage_ptr wiping_json_storage() {
    // Never destroyed: values parsed into it may outlive static destruction order.
    static WipingResource* resource = new WipingResource();
    return boost::json::storage_ptr(resource);
}

}  // namespace keybridge::core
