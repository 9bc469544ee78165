#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/bytes.h"
#include "core/eip712.h"
#include "core/result.h"
#include "core/secp256k1.h"
#include "core/transaction.h"
#include "drivers/ledger/eip712_filters.h"

// The Ledger Ethereum app's APDUs (CLA 0xE0) and the dashboard's "get app and version"
// (CLA 0xB0), as pure builders and parsers: no I/O, no state. Facts from the app's APDU
// specification (app-ethereum doc/ethapp.adoc) and from what Ledger's host library
// (@ledgerhq/hw-app-eth) sends; where that library's choices are arbitrary (chunk sizes), they
// are followed, so that the device sees exactly what it sees from Ledger's own software.
//
// Every builder returns whole APDUs: CLA INS P1 P2 Lc data, with Lc = data size (0..255).
namespace keybridge::drivers::ledger::eth {

inline constexpr std::uint8_t kCla = 0xe0;
inline constexpr std::uint8_t kInsGetAddress = 0x02;
inline constexpr std::uint8_t kInsSignTransaction = 0x04;
inline constexpr std::uint8_t kInsGetConfiguration = 0x06;
inline constexpr std::uint8_t kInsSignPersonalMessage = 0x08;
inline constexpr std::uint8_t kInsProvideErc20 = 0x0a;
inline constexpr std::uint8_t kInsSignEip712 = 0x0c;
inline constexpr std::uint8_t kInsEip712StructDefinition = 0x1a;
inline constexpr std::uint8_t kInsEip712StructImplementation = 0x1c;
inline constexpr std::uint8_t kInsEip712Filtering = 0x1e;
inline constexpr std::uint8_t kDashboardCla = 0xb0;
inline constexpr std::uint8_t kInsGetAppAndVersion = 0x01;

inline constexpr std::size_t kMaxApduData = 255;
inline constexpr std::size_t kMaxPathDepth = 10;
// Transaction chunks carry at most 255 bytes; personal-message chunks 150 (as hw-app-eth).
inline constexpr std::size_t kTransactionChunk = 255;
inline constexpr std::size_t kPersonalMessageChunk = 150;

// Status words.
inline constexpr std::uint16_t kSwOk = 0x9000;
inline constexpr std::uint16_t kSwDenied = 0x6985;          // rejected on the device
inline constexpr std::uint16_t kSwUserRefused = 0x5501;     // rejected (OS level)
inline constexpr std::uint16_t kSwLocked = 0x5515;          // locked: PIN needed
inline constexpr std::uint16_t kSwSecurityStatus = 0x6982;  // locked (older firmware)
inline constexpr std::uint16_t kSwInvalidData = 0x6a80;     // e.g. contract data, blind signing off
inline constexpr std::uint16_t kSwInsNotSupported = 0x6d00;  // app too old, or the dashboard
inline constexpr std::uint16_t kSwClaNotSupported = 0x6e00;  // another app is open
inline constexpr std::uint16_t kSwAppNotOpen = 0x6e01;       // dashboard (newer firmware)
inline constexpr std::uint16_t kSwUnknownApdu = 0x6d02;      // dashboard (newer firmware)
inline constexpr std::uint16_t kSwAppNotOpen2 = 0x6511;      // dashboard (some firmware)

// CLA INS P1 P2 Lc data. InvalidArgument when data is longer than 255 bytes.
[[nodiscard]] core::Result<core::Bytes> make_apdu(std::uint8_t cla, std::uint8_t ins,
                                                  std::uint8_t p1, std::uint8_t p2,
                                                  core::ByteView data = {});

// A BIP32 path as the app takes it: the number of steps (1..10), then each index as 4 bytes
// big-endian. Errors as core::bip32::parse_path, InvalidArgument for an empty path ("m") or more
// than 10 steps.
[[nodiscard]] core::Result<core::Bytes> encode_path(std::string_view path);

// ---- dashboard / app identity ----

// B0 01 00 00 00: the name and version of the open app ("BOLOS" on the dashboard).
core::Bytes get_app_and_version_apdu();
struct AppAndVersion {
    std::string name;     // "Ethereum", "BOLOS", ...
    std::string version;  // "1.10.3"
    core::Bytes flags;
};
// format (1) || name length || name || version length || version [|| flags length || flags].
// ProtocolError for a reply that ends early or has another format byte.
[[nodiscard]] core::Result<AppAndVersion> parse_app_and_version(core::ByteView data);

// E0 06 00 00 00: the app's settings and version.
core::Bytes get_configuration_apdu();
struct AppConfiguration {
    std::uint8_t flags = 0;
    std::uint8_t major = 0, minor = 0, patch = 0;
    // flag 0x01: "Blind signing" (arbitrary contract data) is enabled in the app's settings.
    bool blind_signing() const { return (flags & 0x01) != 0; }
    std::string version() const;
};
// flags || major || minor || patch (at least 4 bytes; later versions may add more).
[[nodiscard]] core::Result<AppConfiguration> parse_configuration(core::ByteView data);

// "1.9.19" against a version string "a.b.c" (trailing "-rc1" and the like ignored): true when
// `version` is at least major.minor.patch. False for text that is not a version.
bool version_at_least(std::string_view version, int major, int minor, int patch);

// ---- addresses ----

// E0 02 P1 P2 path [chain id]: P1 = 01 shows the address on the device for confirmation; P2 = 01
// also returns the chain code; a chain id (8 bytes BE) lets newer devices name the network.
[[nodiscard]] core::Result<core::Bytes> get_address_apdu(
    std::string_view path, bool display, bool chain_code,
    std::optional<std::uint64_t> chain_id = std::nullopt);
struct AddressReply {
    core::PublicKey public_key;
    core::Address address;
    std::optional<core::Hash32> chain_code;
};
// key length (65) || uncompressed key || address length (40) || address as ASCII hex
// [|| chain code (32)]. ProtocolError when lengths are wrong, the key is not on the curve, or the
// address is not the one of the key.
[[nodiscard]] core::Result<AddressReply> parse_address(core::ByteView data, bool chain_code);

// ---- signatures ----

// v || r || s, exactly 65 bytes (ProtocolError otherwise).
struct DeviceSignature {
    std::uint8_t v = 0;
    core::Hash32 r{};
    core::Hash32 s{};
};
[[nodiscard]] core::Result<DeviceSignature> parse_signature(core::ByteView data);

// PROVIDE ERC 20 TOKEN INFORMATION: E0 0A 00 00 descriptor (see erc20_descriptors.h).
// InvalidArgument for a descriptor longer than 255 bytes.
[[nodiscard]] core::Result<core::Bytes> provide_erc20_apdu(core::ByteView descriptor);

// Transactions: E0 04 P1 00, P1 = 00 for the first chunk, 80 for the next ones. The payload
// path || unsigned transaction (core::encode_unsigned) is cut into 255-byte chunks. A legacy
// transaction's last chunk must not be so short that the app could take the transaction as
// complete before its EIP-155 fields arrived (it would then sign with chain id 0): when the
// remainder would be no longer than the RLP of the transaction's last three fields, a smaller
// chunk size is chosen, as hw-app-eth does.
[[nodiscard]] core::Result<std::vector<core::Bytes>> sign_transaction_apdus(
    std::string_view path, const core::Transaction& tx);

// Exposed for tests: the chunk sizes used for a payload of `payload_size` bytes; for a legacy
// transaction, `tail_size` is the size of the RLP of its last three fields without the list
// header byte (0 for typed ones, which are cut at 255).
std::vector<std::size_t> transaction_chunk_sizes(std::size_t payload_size, bool legacy,
                                                 std::size_t tail_size);

// The recovery id of a transaction signature from the v the app returned: typed transactions
// give the parity (0/1); legacy ones 27 + parity without EIP-155, and otherwise
// (chain id * 2 + 35 + parity) truncated to one byte, where the app takes only the 4 most
// significant bytes of a longer chain id. ProtocolError when v fits neither parity.
[[nodiscard]] core::Result<std::uint8_t> transaction_recovery_id(std::uint8_t v,
                                                                 const core::Transaction& tx);

// Personal messages: E0 08 P1 00, first chunk path || length (4 bytes BE) || the message's first
// bytes, next chunks the rest (P1 = 80); 150 bytes a chunk. An empty message is one APDU.
// InvalidArgument for a message of 2^32 bytes or more.
[[nodiscard]] core::Result<std::vector<core::Bytes>> sign_personal_message_apdus(
    std::string_view path, core::ByteView message);

// Message signatures (personal, EIP-712) come back with v = 27 + parity.
[[nodiscard]] core::Result<std::uint8_t> message_recovery_id(std::uint8_t v);

// EIP-712 "v0" (hashed) mode: E0 0C 00 00 path || domain separator || message hash.
[[nodiscard]] core::Result<core::Bytes> sign_eip712_hashed_apdu(std::string_view path,
                                                                const core::Hash32& domain,
                                                                const core::Hash32& message);

// EIP-712 full mode (app 1.9.19 and later): the device receives the types and values and shows
// the fields. The APDUs, in order: struct definitions (E0 1A: each type's name, P2 00, then each
// member, P2 FF), struct implementations (E0 1C: root "EIP712Domain" with the domain's values,
// root primaryType with the message's; arrays announce their size with P2 0F; values with P2 FF
// as a 2-byte length and the raw value, in 255-byte pieces, P1 01 on all but the last), then
// E0 0C 00 01 path. Types go in name order, members in their declared order, as hw-app-eth
// sends them. Values are the raw bytes the app expects: integers big-endian (decimals minimal,
// negatives in two's complement of the type's width, hex strings as written), addresses 20
// bytes, bools one byte, strings UTF-8, bytes as they are.
// Values longer than one APDU go in 255-byte pieces until every byte is sent. (hw-app-eth 7.9.0
// counts ceil(n / 256) pieces of 255 bytes, which drops the last byte or two of a value whose
// length field plus data is 256, 511, 512, 766 ... bytes long; that case is the one place where
// the APDUs here differ from its.)
// NotSupported when the document cannot be expressed this way (then sign in hashed mode): a
// member missing or null (EIP-712 v3 leaves missing members out, v4 zeroes null structs), the
// primary type EIP712Domain, a name, array or value longer than the APDU fields hold.
//
// With `filters` (app 1.11.1 and later, Ledger's "v2" filters, as hw-app-eth sends them):
// `activate` (E0 1E 01 00) goes after the definitions; the contract's name (E0 1E 00 0F) after
// the domain; before each filtered field its label (E0 1E, P2 FF raw, FC datetime, FD token,
// FE amount); an empty array's filtered fields are discarded (E0 1E 00 01, then the label with
// P1 01) when `discarded_fields` (app 1.12.0 and later). A token field is preceded by its
// token's descriptor (E0 0A, erc20_descriptors.h) the first time, and the token/amount labels
// carry the index the app gave that descriptor: `token_steps` say which APDU's answer sets an
// index and which APDU byte takes it (hw-app-eth's rule: the app's index when it is not 0, else
// the coin reference).
struct Eip712TokenStep {
    std::size_t apdu;  // index in implementations
    bool provides;     // true: the answer's first byte is coin_ref's index (255 stays 255)
    int coin_ref;
    std::size_t patch_at;  // !provides: the byte of the APDU that takes the index
};
struct Eip712FullApdus {
    std::vector<core::Bytes> definitions;
    std::optional<core::Bytes> activate;
    std::vector<core::Bytes> implementations;
    std::vector<Eip712TokenStep> token_steps;
    core::Bytes sign;
};
[[nodiscard]] core::Result<Eip712FullApdus> eip712_full_apdus(
    std::string_view path, const core::eip712::HashedTypedData& typed,
    const Eip712Filters* filters = nullptr, bool discarded_fields = false);

// ---- status words ----

// What the request was, so that a status word can be explained in its terms.
enum class Request { Probe, Address, Transaction, PersonalMessage, TypedData };

// The error for a status word other than 0x9000, with a message that says what to do:
//   0x6985, 0x5501                 UserCancelled ("rejected on the Ledger")
//   0x5515, 0x6982                 DeviceNotFound (locked: unlock it)
//   0x6e00, 0x6e01, 0x6d02, 0x6511 DeviceNotFound (the Ethereum app is not open)
//   0x6d00                         NotSupported (this app version lacks the command; or the
//                                  dashboard is open)
//   0x6a80                         NotSupported for a transaction or typed data when blind
//                                  signing is off (enable "Blind signing" in the app's
//                                  settings), else ProtocolError (data refused as invalid)
//   0x6501, 0x6502, 0x6984         NotSupported (transaction type / chain id / plugin)
//   others                         ProtocolError naming the status word
// `blind_signing` is the app's setting when known.
core::Error status_error(std::uint16_t status, Request request,
                         std::optional<bool> blind_signing = std::nullopt);

// A short name for a status word ("denied by the user", "locked device", "0x6f01").
std::string status_name(std::uint16_t status);

}  // namespace keybridge::drivers::ledger::eth
