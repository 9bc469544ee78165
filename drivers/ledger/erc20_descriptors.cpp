#include "drivers/ledger/erc20_descriptors.h"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <utility>

namespace keybridge::drivers::ledger {
namespace {

std::uint32_t get_u32(core::ByteView bytes, std::size_t at) {
    return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
           (std::uint32_t{bytes[at + 2]} << 8) | bytes[at + 3];
}

using Key = std::pair<std::uint64_t, core::Address>;

const std::map<Key, Erc20Descriptor>& known_descriptors() {
    static const std::map<Key, Erc20Descriptor> descriptors = [] {
        std::map<Key, Erc20Descriptor> out;
        for (std::size_t i = 0; i < detail::kErc20BlobCount; ++i) {
            const auto& blob = detail::kErc20Blobs[i];
            auto bytes = detail::base64_decode(blob.base64);
            if (!bytes) continue;  // the build checked the text; a bad table only loses tokens
            auto list = parse_erc20_descriptors(*bytes);
            if (!list) continue;
            for (auto& d : *list) {
                // A descriptor is only valid for the chain it names.
                if (d.chain_id != blob.chain_id) continue;
                Key key{d.chain_id, d.contract};
                out.emplace(std::move(key), std::move(d));
            }
        }
        return out;
    }();
    return descriptors;
}

}  // namespace

namespace detail {

core::Result<core::Bytes> base64_decode(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (text.size() % 4 != 0) {
        return core::fail(core::ErrorCode::InvalidFormat, "base64 length is not a multiple of 4");
    }
    core::Bytes out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        std::array<int, 4> v{};
        int pad = 0;
        for (int j = 0; j < 4; ++j) {
            const char c = text[i + j];
            if (c == '=' && i + 4 == text.size() && j >= 2) {
                v[j] = 0;
                ++pad;
            } else {
                if (pad > 0)
                    return core::fail(core::ErrorCode::InvalidFormat, "bad base64 padding");
                v[j] = value(c);
                if (v[j] < 0) return core::fail(core::ErrorCode::InvalidFormat, "bad base64 digit");
            }
        }
        const std::uint32_t n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                                (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
        out.push_back(static_cast<std::uint8_t>(n >> 16));
        if (pad < 2) out.push_back(static_cast<std::uint8_t>(n >> 8));
        if (pad < 1) out.push_back(static_cast<std::uint8_t>(n));
    }
    return out;
}

}  // namespace detail

core::Result<std::vector<Erc20Descriptor>> parse_erc20_descriptors(core::ByteView list) {
    std::vector<Erc20Descriptor> out;
    std::size_t at = 0;
    auto bad = [](const char* what) {
        return core::fail(core::ErrorCode::InvalidFormat,
                          std::string("ERC-20 descriptor list: ") + what);
    };
    while (at < list.size()) {
        if (list.size() - at < 4) return bad("a length runs past the end");
        const std::size_t length = get_u32(list, at);
        at += 4;
        if (length > list.size() - at) return bad("a descriptor runs past the end");
        const core::ByteView item = list.subspan(at, length);
        at += length;
        if (item.empty()) return bad("an empty descriptor");
        const std::size_t ticker_length = item[0];
        if (item.size() < 1 + ticker_length + 20 + 4 + 4 + 1) return bad("a short descriptor");
        Erc20Descriptor d;
        d.ticker.assign(item.begin() + 1,
                        item.begin() + 1 + static_cast<std::ptrdiff_t>(ticker_length));
        core::Address::Raw raw{};
        std::copy_n(item.begin() + 1 + static_cast<std::ptrdiff_t>(ticker_length), 20, raw.begin());
        d.contract = core::Address(raw);
        d.decimals = get_u32(item, 1 + ticker_length + 20);
        d.chain_id = get_u32(item, 1 + ticker_length + 24);
        d.payload.assign(item.begin(), item.end());
        out.push_back(std::move(d));
    }
    return out;
}

std::optional<Erc20Descriptor> find_erc20_descriptor(std::uint64_t chain_id,
                                                     const core::Address& contract) {
    const auto& descriptors = known_descriptors();
    auto it = descriptors.find({chain_id, contract});
    if (it == descriptors.end()) return std::nullopt;
    return it->second;
}

std::optional<Erc20Descriptor> erc20_descriptor_for(const core::Transaction& tx) {
    if (!tx.to || tx.data.size() < 4 || tx.chain_id > 0xffffffffu) return std::nullopt;
    static constexpr std::array<std::array<std::uint8_t, 4>, 3> kClearSelectors{{
        {0xa9, 0x05, 0x9c, 0xbb},  // transfer(address,uint256)
        {0x09, 0x5e, 0xa7, 0xb3},  // approve(address,uint256)
        {0x23, 0xb8, 0x72, 0xdd},  // transferFrom(address,address,uint256)
    }};
    bool clear = false;
    for (const auto& s : kClearSelectors)
        clear = clear || std::equal(s.begin(), s.end(), tx.data.begin());
    if (!clear) return std::nullopt;
    return find_erc20_descriptor(static_cast<std::uint64_t>(tx.chain_id), *tx.to);
}

}  // namespace keybridge::drivers::ledger
