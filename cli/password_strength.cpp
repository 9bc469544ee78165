#include "cli/password_strength.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bip39.h"
#include "core/secret_buffer.h"

namespace keybridge::cli {
namespace {

// Passwords and words people pick first, most popular first (the position prices a match:
// the 1st costs an attacker one guess, the 200th about 200). Lower case; capitals, reversal and
// l33t spellings are priced separately. Chosen for this project from what leaked-password
// studies keep reporting at the top; BIP39's English list adds 2048 everyday words after these.
// A plain array: deducing std::array's size from ~300 elements exceeds clang's fold limit.
constexpr const char* kCommonPasswords[] = {
    "password",   "123456",    "12345678",   "qwerty",    "123456789", "12345",      "1234",
    "111111",     "1234567",   "dragon",     "123123",    "baseball",  "abc123",     "football",
    "monkey",     "letmein",   "696969",     "shadow",    "master",    "666666",     "qwertyuiop",
    "123321",     "mustang",   "1234567890", "michael",   "654321",    "superman",   "1qaz2wsx",
    "7777777",    "121212",    "000000",     "qazwsx",    "123qwe",    "killer",     "trustno1",
    "jordan",     "jennifer",  "zxcvbnm",    "asdfgh",    "hunter",    "buster",     "soccer",
    "harley",     "batman",    "andrew",     "tigger",    "sunshine",  "iloveyou",   "2000",
    "charlie",    "robert",    "thomas",     "hockey",    "ranger",    "daniel",     "starwars",
    "112233",     "george",    "computer",   "michelle",  "jessica",   "pepper",     "1111",
    "zxcvbn",     "555555",    "11111111",   "131313",    "freedom",   "777777",     "pass",
    "maggie",     "159753",    "aaaaaa",     "ginger",    "princess",  "joshua",     "cheese",
    "amanda",     "summer",    "love",       "ashley",    "nicole",    "chelsea",    "biteme",
    "matthew",    "access",    "yankees",    "987654321", "dallas",    "austin",     "thunder",
    "taylor",     "matrix",    "minecraft",  "william",   "corvette",  "hello",      "martin",
    "heather",    "secret",    "merlin",     "diamond",   "1234qwer",  "gfhjkm",     "hammer",
    "silver",     "222222",    "88888888",   "anthony",   "justin",    "test",       "bailey",
    "q1w2e3r4t5", "patrick",   "internet",   "scooter",   "orange",    "11111",      "golfer",
    "cookie",     "richard",   "samantha",   "bigdog",    "guitar",    "jackson",    "whatever",
    "mickey",     "chicken",   "sparky",     "snoopy",    "maverick",  "phoenix",    "camaro",
    "peanut",     "morgan",    "welcome",    "falcon",    "cowboy",    "ferrari",    "samsung",
    "andrea",     "smokey",    "steelers",   "joseph",    "mercedes",  "dakota",     "arsenal",
    "eagles",     "melissa",   "boomer",     "booboo",    "spider",    "nascar",     "monster",
    "tigers",     "yellow",    "xxxxxx",     "123123123", "gateway",   "marina",     "diablo",
    "bulldog",    "qwer1234",  "compaq",     "purple",    "hardcore",  "banana",     "junior",
    "hannah",     "123654",    "porsche",    "lakers",    "iceman",    "money",      "cowboys",
    "987654",     "london",    "tennis",     "999999",    "ncc1701",   "coffee",     "scooby",
    "0000",       "miller",    "boston",     "q1w2e3r4",  "brandon",   "yamaha",     "chester",
    "mother",     "forever",   "johnny",     "edward",    "333333",    "oliver",     "redsox",
    "player",     "nikita",    "knight",     "fender",    "barney",    "midnight",   "please",
    "brandy",     "chicago",   "badboy",     "slayer",    "rangers",   "charles",    "angel",
    "flower",     "bigdaddy",  "rabbit",     "wizard",    "jasper",    "enter",      "rachel",
    "chris",      "steven",    "winner",     "adidas",    "victoria",  "natasha",    "1q2w3e4r",
    "jasmine",    "winter",    "prince",     "marine",    "ghbdtn",    "fishing",    "cocacola",
    "casper",     "james",     "232323",     "raiders",   "888888",    "marlboro",   "gandalf",
    "asdfasdf",   "crystal",   "87654321",   "12344321",  "golden",    "8675309",    "panther",
    "lauren",     "angela",    "spring",     "autumn",    "admin",     "root",       "login",
    "changeme",   "default",   "qwerty123",  "passw0rd",  "p@ssw0rd",  "welcome1",   "letmein1",
    "monkey1",    "password1", "dragon1",    "master1",   "abcd1234",  "iloveu",     "lovely",
    "blessed",    "jesus",     "god",        "family",    "friends",   "happy",      "beautiful",
    "sweet",      "baby",      "honey",      "bitcoin",   "ethereum",  "crypto",     "wallet",
    "metamask",   "ledger",    "trezor",     "satoshi",   "nakamoto",  "blockchain", "keybridge",
    "vault",      "private",   "mnemonic",   "seed",      "hodl",      "moon",       "lambo",
    "doge",       "solana",    "binance",
};

double log2_of(double x) {
    return std::log2(std::max(x, 1.0));
}

enum class Kind { Brute, Word, Repeat, Sequence, Keyboard, Year };

const char* reason_for(Kind kind) {
    switch (kind) {
        case Kind::Word:
            return "it is built on a common password or word";
        case Kind::Repeat:
            return "it repeats characters or a block of them";
        case Kind::Sequence:
            return "it is a sequence (like abcd or 4321)";
        case Kind::Keyboard:
            return "it is a keyboard pattern (like qwerty or 1qaz)";
        case Kind::Year:
            return "it is mostly a year";
        case Kind::Brute:
            break;
    }
    return "it is too short for the kinds of characters it uses; make it longer";
}

// Each word's price in bits: the common list by position, then BIP39's English words.
const std::unordered_map<std::string, double>& dictionary() {
    static const auto* table = [] {
        auto* map = new std::unordered_map<std::string, double>();
        for (std::size_t i = 0; i < std::size(kCommonPasswords); ++i) {
            map->emplace(kCommonPasswords[i], log2_of(static_cast<double>(i + 2)));
        }
        const double bip39_bits = log2_of(static_cast<double>(std::size(kCommonPasswords) + 2048));
        for (std::string_view w : core::bip39::wordlist(core::bip39::Language::English)) {
            map->emplace(std::string(w), bip39_bits);
        }
        return map;
    }();
    return *table;
}

bool is_lower(char32_t c) {
    return c >= 'a' && c <= 'z';
}
bool is_upper(char32_t c) {
    return c >= 'A' && c <= 'Z';
}
bool is_digit(char32_t c) {
    return c >= '0' && c <= '9';
}

// The guesses needed per character when guessing blindly: the classes the password uses.
double charset_bits(const std::vector<char32_t>& cps) {
    bool lower = false, upper = false, digit = false, symbol = false, other = false;
    for (char32_t c : cps) {
        if (is_lower(c))
            lower = true;
        else if (is_upper(c))
            upper = true;
        else if (is_digit(c))
            digit = true;
        else if (c < 0x80)
            symbol = true;
        else
            other = true;
    }
    double size = (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (symbol ? 33 : 0) +
                  (other ? 100 : 0);
    return log2_of(std::max(size, 10.0));
}

double class_bits(char32_t c) {
    if (is_lower(c) || is_upper(c)) return log2_of(26);
    if (is_digit(c)) return log2_of(10);
    if (c < 0x80) return log2_of(33);
    return log2_of(100);
}

// Extra guesses for capitals in a word: none, all, or only the first or last are cheap;
// otherwise the ways of choosing which letters are capitals.
double capital_bits(std::size_t upper, std::size_t lower, bool first_upper, bool last_upper) {
    if (upper == 0) return 0;
    if (lower == 0 || (upper == 1 && (first_upper || last_upper))) return 1;
    double ways = 0;
    const std::size_t n = upper + lower;
    for (std::size_t k = 1; k <= std::min(upper, lower); ++k) {
        double c = 1;
        for (std::size_t i = 0; i < k; ++i)
            c = c * static_cast<double>(n - i) / static_cast<double>(i + 1);
        ways += c;
    }
    return log2_of(ways);
}

// l33t spellings of letters; '1' is tried as both i and l.
std::optional<char> unleet(char32_t c, bool one_is_l) {
    switch (c) {
        case '4':
        case '@':
            return 'a';
        case '3':
            return 'e';
        case '1':
            return one_is_l ? 'l' : 'i';
        case '!':
        case '|':
            return 'i';
        case '0':
            return 'o';
        case '5':
        case '$':
            return 's';
        case '7':
        case '+':
            return 't';
        case '8':
            return 'b';
        case '9':
            return 'g';
        default:
            return std::nullopt;
    }
}

struct Piece {
    std::size_t begin = 0;
    std::size_t end = 0;
    double bits = 0;
    Kind kind = Kind::Brute;
};

// Keyboard positions (US layout, shifted characters on their key). Rows are staggered: a key at
// (r, c) touches (r, c±1), (r-1, c), (r-1, c+1), (r+1, c-1), (r+1, c).
struct KeyPos {
    int row = -1;
    int col = -1;
    bool shifted = false;
};

KeyPos key_position(char32_t c) {
    static constexpr std::array<std::string_view, 4> kRows = {"`1234567890-=", " qwertyuiop[]\\",
                                                              " asdfghjkl;'", " zxcvbnm,./"};
    static constexpr std::array<std::string_view, 4> kShiftedRows = {
        "~!@#$%^&*()_+", " QWERTYUIOP{}|", " ASDFGHJKL:\"", " ZXCVBNM<>?"};
    if (c == ' ' || c >= 0x80) return {};
    for (int r = 0; r < 4; ++r) {
        if (auto at = kRows[r].find(static_cast<char>(c)); at != std::string_view::npos)
            return {r, static_cast<int>(at), false};
        if (auto at = kShiftedRows[r].find(static_cast<char>(c)); at != std::string_view::npos)
            return {r, static_cast<int>(at), true};
    }
    return {};
}

// The step from one key to a touching one, as a direction number 0..5; -1 if they do not touch.
int key_step(KeyPos a, KeyPos b) {
    if (a.row < 0 || b.row < 0) return -1;
    const int dr = b.row - a.row;
    const int dc = b.col - a.col;
    if (dr == 0 && dc == -1) return 0;
    if (dr == 0 && dc == 1) return 1;
    if (dr == -1 && dc == 0) return 2;
    if (dr == -1 && dc == 1) return 3;
    if (dr == 1 && dc == -1) return 4;
    if (dr == 1 && dc == 0) return 5;
    return -1;
}

class Estimator {
  public:
    explicit Estimator(const std::vector<char32_t>& cps, bool allow_blocks = true)
        : s_(cps), brute_(charset_bits(cps)), allow_blocks_(allow_blocks) {}

    // The cheapest explanation of the whole text: total bits and the pieces used.
    double best(std::vector<Piece>* path = nullptr) {
        const std::size_t n = s_.size();
        collect();
        std::vector<double> cost(n + 1, 0);
        std::vector<Piece> via(n + 1);
        for (std::size_t j = 1; j <= n; ++j) {
            cost[j] = cost[j - 1] + brute_;
            via[j] = {j - 1, j, brute_, Kind::Brute};
            for (const Piece& p : pieces_) {
                if (p.end != j) continue;
                // One more bit per pattern: which kind of pattern comes next.
                const double c = cost[p.begin] + p.bits + 1;
                if (c < cost[j]) {
                    cost[j] = c;
                    via[j] = p;
                }
            }
        }
        if (path != nullptr) {
            for (std::size_t j = n; j > 0; j = via[j].begin)
                path->push_back(via[j]);
        }
        return cost[n];
    }

  private:
    void collect() {
        const std::size_t n = s_.size();
        for (std::size_t i = 0; i < n; ++i) {
            words_from(i);
            repeats_from(i);
            sequences_from(i);
            keyboard_from(i);
            year_at(i);
        }
    }

    void add(std::size_t begin, std::size_t end, double bits, Kind kind) {
        pieces_.push_back({begin, end, bits, kind});
    }

    void words_from(std::size_t i) {
        const auto& dict = dictionary();
        std::string plain, leet_i, leet_l;
        std::size_t upper = 0, lower = 0, substitutions = 0;
        bool plain_ok = true, leet_ok = true;
        for (std::size_t j = i; j < s_.size() && j - i < 24; ++j) {
            const char32_t c = s_[j];
            if (is_upper(c)) ++upper;
            if (is_lower(c)) ++lower;
            if (is_lower(c) || is_upper(c) || is_digit(c)) {
                const char folded = static_cast<char>(is_upper(c) ? c - 'A' + 'a' : c);
                plain += folded;
            } else {
                plain_ok = false;
            }
            if (is_lower(c) || is_upper(c)) {
                const char folded = static_cast<char>(is_upper(c) ? c - 'A' + 'a' : c);
                leet_i += folded;
                leet_l += folded;
            } else if (auto a = unleet(c, false)) {
                leet_i += *a;
                leet_l += *unleet(c, true);
                ++substitutions;
            } else {
                leet_ok = false;
            }
            if (!plain_ok && !leet_ok) break;
            if (j - i + 1 < 3) continue;
            const double caps = capital_bits(upper, lower, is_upper(s_[i]), is_upper(c));
            auto price = [&](const std::string& text, double extra) {
                if (auto it = dict.find(text); it != dict.end())
                    add(i, j + 1, it->second + extra, Kind::Word);
                std::string reversed(text.rbegin(), text.rend());
                if (auto it = dict.find(reversed); it != dict.end())
                    add(i, j + 1, it->second + extra + 1, Kind::Word);
                core::secure_wipe(reversed.data(), reversed.size());
            };
            if (plain_ok) price(plain, caps);
            if (leet_ok && substitutions > 0) {
                const double leet = static_cast<double>(substitutions);
                price(leet_i, caps + leet);
                price(leet_l, caps + leet);
            }
        }
        core::secure_wipe(plain.data(), plain.size());
        core::secure_wipe(leet_i.data(), leet_i.size());
        core::secure_wipe(leet_l.data(), leet_l.size());
    }

    void repeats_from(std::size_t i) {
        const std::size_t n = s_.size();
        std::size_t run = 1;
        while (i + run < n && s_[i + run] == s_[i])
            ++run;
        for (std::size_t len = 3; len <= run; ++len)
            add(i, i + len, class_bits(s_[i]) + log2_of(static_cast<double>(len)), Kind::Repeat);
        if (!allow_blocks_) return;
        // A block of 2+ characters said again: the block's own price, plus how many times.
        for (std::size_t k = 2; i + 2 * k <= n; ++k) {
            std::size_t times = 1;
            while (i + (times + 1) * k <= n &&
                   std::equal(s_.begin() + static_cast<long>(i),
                              s_.begin() + static_cast<long>(i + k),
                              s_.begin() + static_cast<long>(i + times * k)))
                ++times;
            if (times < 2) continue;
            std::vector<char32_t> block(s_.begin() + static_cast<long>(i),
                                        s_.begin() + static_cast<long>(i + k));
            const double block_bits = Estimator(block, false).best();
            core::secure_wipe(block.data(), block.size() * sizeof(char32_t));
            for (std::size_t t = 2; t <= times; ++t)
                add(i, i + t * k, block_bits + log2_of(static_cast<double>(t)), Kind::Repeat);
        }
    }

    void sequences_from(std::size_t i) {
        const std::size_t n = s_.size();
        if (i + 2 >= n) return;
        auto same_class = [](char32_t a, char32_t b) {
            return (is_lower(a) && is_lower(b)) || (is_upper(a) && is_upper(b)) ||
                   (is_digit(a) && is_digit(b));
        };
        const long step = static_cast<long>(s_[i + 1]) - static_cast<long>(s_[i]);
        if ((step != 1 && step != -1) || !same_class(s_[i], s_[i + 1])) return;
        std::size_t end = i + 2;
        while (end < n && static_cast<long>(s_[end]) - static_cast<long>(s_[end - 1]) == step &&
               same_class(s_[end], s_[i]))
            ++end;
        const char32_t first = s_[i];
        const bool obvious_start = first == 'a' || first == 'A' || first == 'z' || first == 'Z' ||
                                   first == '0' || first == '1' || first == '9';
        const double start_bits = obvious_start ? 1 : class_bits(first);
        for (std::size_t e = i + 3; e <= end; ++e) {
            add(i, e, start_bits + log2_of(static_cast<double>(e - i)) + (step < 0 ? 1 : 0),
                Kind::Sequence);
        }
    }

    void keyboard_from(std::size_t i) {
        const std::size_t n = s_.size();
        KeyPos previous = key_position(s_[i]);
        if (previous.row < 0) return;
        std::size_t shifted = previous.shifted ? 1 : 0;
        std::size_t turns = 0;
        int direction = -1;
        for (std::size_t j = i + 1; j < n; ++j) {
            const KeyPos next = key_position(s_[j]);
            const int step = key_step(previous, next);
            if (step < 0) break;
            if (direction >= 0 && step != direction) ++turns;
            direction = step;
            if (next.shifted) ++shifted;
            previous = next;
            const std::size_t len = j - i + 1;
            if (len < 4) continue;
            const double shift_bits = shifted == 0     ? 0
                                      : shifted == len ? 1
                                                       : static_cast<double>(shifted);
            add(i, j + 1,
                log2_of(47) + log2_of(static_cast<double>(len)) +
                    static_cast<double>(turns) * log2_of(6) + shift_bits,
                Kind::Keyboard);
        }
    }

    void year_at(std::size_t i) {
        if (i + 4 > s_.size()) return;
        int value = 0;
        for (std::size_t k = i; k < i + 4; ++k) {
            if (!is_digit(s_[k])) return;
            value = value * 10 + static_cast<int>(s_[k] - '0');
        }
        if (value >= 1900 && value <= 2039) add(i, i + 4, log2_of(140), Kind::Year);
    }

    const std::vector<char32_t>& s_;
    double brute_;
    bool allow_blocks_;
    std::vector<Piece> pieces_;
};

// Well-formed UTF-8 to code points; a bad byte counts as one unusual character.
std::vector<char32_t> decode(std::string_view text) {
    std::vector<char32_t> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        std::size_t len = b < 0x80         ? 1
                          : (b >> 5) == 6  ? 2
                          : (b >> 4) == 14 ? 3
                          : (b >> 3) == 30 ? 4
                                           : 0;
        if (len == 0 || i + len > text.size()) {
            out.push_back(0xfffd);
            ++i;
            continue;
        }
        char32_t c = len == 1 ? b : static_cast<char32_t>(b & (0x7f >> len));
        for (std::size_t k = 1; k < len; ++k)
            c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
        out.push_back(c);
        i += len;
    }
    return out;
}

}  // namespace

PasswordStrength estimate_password_strength(std::string_view password) {
    std::vector<char32_t> cps = decode(password);
    PasswordStrength result;
    result.length = cps.size();
    // Patterns are looked for in the first 64 characters; beyond that, characters are priced
    // one by one (a password that long is not refused for its patterns alone).
    constexpr std::size_t kAnalysed = 64;
    std::vector<Piece> path;
    if (cps.size() > kAnalysed) {
        std::vector<char32_t> head(cps.begin(), cps.begin() + kAnalysed);
        result.bits = Estimator(head).best(&path) +
                      static_cast<double>(cps.size() - kAnalysed) * charset_bits(cps);
        core::secure_wipe(head.data(), head.size() * sizeof(char32_t));
    } else {
        result.bits = Estimator(cps).best(&path);
    }
    core::secure_wipe(cps.data(), cps.size() * sizeof(char32_t));

    if (result.length < kMinPasswordLength) {
        result.reason = "it is shorter than " + std::to_string(kMinPasswordLength) + " characters";
        return result;
    }
    if (result.bits >= kMinPasswordBits) {
        result.acceptable = true;
        return result;
    }
    // The reason: the kind of pattern that explains most of the password.
    // Characters guessed one by one count as a kind of their own: when they are most of it,
    // the password is simply too short for its mix of characters.
    std::array<std::size_t, 6> covered{};
    for (const Piece& p : path)
        covered[static_cast<std::size_t>(p.kind)] += p.end - p.begin;
    const auto top = std::max_element(covered.begin(), covered.end());
    const Kind kind = static_cast<Kind>(top - covered.begin());
    result.reason = reason_for(kind);
    return result;
}

}  // namespace keybridge::cli
