#include "tests/tools/trezor_sim/sim_wire.h"

#include <algorithm>

namespace keybridge::trezor_sim {

std::vector<std::array<std::uint8_t, 64>> to_reports(const SimMessage& message) {
    // Header and payload as one byte string, then cut into 63-byte pieces after each '?'.
    std::string stream = "##";
    stream.push_back(static_cast<char>(message.type >> 8));
    stream.push_back(static_cast<char>(message.type & 0xff));
    const auto size = static_cast<std::uint32_t>(message.payload.size());
    for (int shift = 24; shift >= 0; shift -= 8)
        stream.push_back(static_cast<char>(size >> shift));
    stream += message.payload;
    std::vector<std::array<std::uint8_t, 64>> out;
    for (std::size_t at = 0; at < stream.size(); at += 63) {
        std::array<std::uint8_t, 64> report{};
        report[0] = '?';
        const std::size_t take = std::min<std::size_t>(63, stream.size() - at);
        for (std::size_t i = 0; i < take; ++i) {
            report[1 + i] = static_cast<std::uint8_t>(stream[at + i]);
        }
        out.push_back(report);
    }
    return out;
}

std::optional<SimMessage> SimAssembler::push(const std::uint8_t* report, std::size_t size) {
    if (size != 64 || report[0] != '?') {
        active_ = false;
        return std::nullopt;
    }
    const std::uint8_t* body = report + 1;
    std::size_t body_size = 63;
    if (!active_) {
        if (report[1] != '#' || report[2] != '#') return std::nullopt;
        current_ = SimMessage{};
        current_.type = static_cast<std::uint16_t>((report[3] << 8) | report[4]);
        want_ = (std::uint32_t{report[5]} << 24) | (std::uint32_t{report[6]} << 16) |
                (std::uint32_t{report[7]} << 8) | std::uint32_t{report[8]};
        if (want_ > max_length_) return std::nullopt;
        active_ = true;
        body = report + 9;
        body_size = 55;
    }
    const std::size_t take = std::min<std::size_t>(body_size, want_ - current_.payload.size());
    current_.payload.append(reinterpret_cast<const char*>(body), take);
    if (current_.payload.size() < want_) return std::nullopt;
    active_ = false;
    return std::move(current_);
}

}  // namespace keybridge::trezor_sim
