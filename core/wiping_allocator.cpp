#include "core/wiping_allocator.h"

#include <boost/json/memory_resource.hpp>

namespace keybridge::core {
namespace {

class WipingResource final : public boost::json::memory_resource {
    void* do_allocate(std::size_t bytes, std::size_t align) override {
        return ::operator new(bytes, std::align_val_t(align));
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
        secure_wipe(p, bytes);
        ::operator delete(p, bytes, std::align_val_t(align));
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
