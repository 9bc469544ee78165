#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// The simulator's own protocol v1 framing, written apart from drivers/trezor/framing so that the
// driver is checked against an independent reading of the format: 64-byte reports, the first
// "?##" + 2-byte big-endian type + 4-byte big-endian length + 55 payload bytes, the rest '?' + 63
// bytes, zero padded.
namespace keybridge::trezor_sim {

struct SimMessage {
    std::uint16_t type = 0;
    std::string payload;
};

std::vector<std::array<std::uint8_t, 64>> to_reports(const SimMessage& message);

// Collects reports into messages; non-header reports while idle are ignored, as the firmware
// does; a header announcing more than `max_length` bytes is dropped.
class SimAssembler {
  public:
    explicit SimAssembler(std::uint32_t max_length = 64 * 1024) : max_length_(max_length) {}
    std::optional<SimMessage> push(const std::uint8_t* report, std::size_t size);

  private:
    std::uint32_t max_length_;
    bool active_ = false;
    std::uint32_t want_ = 0;
    SimMessage current_;
};

}  // namespace keybridge::trezor_sim
