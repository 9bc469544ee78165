#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"

namespace keybridge::core {

// A 20-byte Ethereum account address.
class Address {
  public:
    using Raw = std::array<std::uint8_t, 20>;

    Address() = default;
    explicit Address(const Raw& raw) : raw_(raw) {}

    // From a 64-byte uncompressed public key (x || y, no 0x04 prefix): last 20 bytes of keccak.
    static Address from_public_key_xy(ByteView xy64);

    // Parses "0x" + 40 hex digits. All-lower and all-upper are accepted unchecked (EIP-55 says
    // they carry no checksum); mixed case must match the EIP-55 checksum (InvalidChecksum).
    // Missing prefix or wrong length: InvalidFormat.
    [[nodiscard]] static Result<Address> parse(std::string_view text);

    const Raw& raw() const { return raw_; }
    ByteView view() const { return raw_; }

    std::string to_checksum_string() const;  // EIP-55 mixed case, with 0x
    std::string to_lower_string() const;     // 0x + lower-case hex

    friend bool operator==(const Address&, const Address&) = default;
    friend auto operator<=>(const Address&, const Address&) = default;

  private:
    Raw raw_{};
};

// True when text is "0x" + 40 hex digits whose letter case follows EIP-55 exactly.
bool is_eip55_checksummed(std::string_view text);

}  // namespace keybridge::core
