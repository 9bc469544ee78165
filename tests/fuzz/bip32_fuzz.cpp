// BIP32 paths, extended keys, Base58 and BIP39 phrases: must never crash, and whatever parses
// must format back to something that parses to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/base58.h"
#include "core/bip32.h"
#include "core/bip39.h"

using namespace keybridge::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto path = bip32::parse_path(text)) {
        auto again = bip32::parse_path(bip32::format_path(*path));
        if (!again || *again != *path) std::abort();
    }
    if (auto key = bip32::ExtendedKey::parse(text)) {
        // Every accepted key re-serialises to the exact input (the encoding is canonical).
        if (key->is_private()) {
            auto xprv = key->to_xprv();
            if (!xprv || xprv->text() != text) std::abort();
        } else if (key->to_xpub() != text) {
            std::abort();
        }
    }
    if (auto decoded = base58_decode(text)) {
        if (base58_encode(decoded->view()) != text) std::abort();
    }
    if (auto entropy = bip39::entropy_from_mnemonic(text)) {
        auto language = bip39::detect_language(text);
        if (!language) std::abort();
        auto words = bip39::mnemonic_from_entropy(entropy->view(), *language);
        if (!words) std::abort();
        auto back = bip39::entropy_from_mnemonic(words->text(), *language);
        if (!back || !(*back == *entropy)) std::abort();
    }
    (void)bip39::suggest_words(text.substr(0, 64), bip39::Language::English, 3);
    return 0;
}
