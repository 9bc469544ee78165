// Crash safety of the vault: a writer process is killed with SIGKILL at random instants, and the
// vault must then open with either the state before the interrupted change or the state after it.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/bip32.h"
#include "core/bip39.h"
#include "core/bytes.h"
#include "store/vault/secure_file.h"
#include "store/vault/vault.h"
#include "store/vault/vault_fixture.h"

namespace keybridge::vault {
namespace {

using core::SecretBuffer;
using namespace test;  // NOLINT: the fixture helpers

// Two fixed keys: kPermanentKey stays imported throughout (so every password change re-encrypts
// an imported file), kToggledKey is imported and removed in turn.
constexpr std::string_view kPermanentKey =
    "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
constexpr std::string_view kToggledKey =
    "8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f";
constexpr std::array<std::string_view, 2> kPasswords = {"first password", "second password"};
constexpr std::size_t kBaseDerived = 3;

SecretBuffer key_bytes(std::string_view hex) {
    auto bytes = core::hex_decode(hex);
    return SecretBuffer::copy_of(core::ByteView(*bytes));
}

core::Address address_of_key(std::string_view hex) {
    auto key = core::PrivateKey::from_bytes(*core::hex_decode(hex));
    return core::PublicKey::from_private(*key).address();
}

core::Address first_account() {
    auto seed = core::bip39::seed_from_mnemonic(kAllPhrase);
    return *core::bip32::ethereum_address(seed->view(), "m/44'/60'/0'/0/0");
}

// The mutations cycle through four kinds; step k (1-based) is kind (k - 1) % 4.
enum class Kind { Rename, Derive, ToggleImport, ChangePassword };
Kind kind_of(std::uint32_t step) {
    return static_cast<Kind>((step - 1) % 4);
}

// What the vault looks like after `steps` mutations from the base state.
struct State {
    std::uint32_t renames = 0;  // the first account is named "crash-<renames>" (base: "Account 1")
    std::size_t derived = kBaseDerived;
    bool toggled_present = false;
    std::size_t password = 0;  // index into kPasswords

    friend bool operator==(const State&, const State&) = default;
    std::string name() const {
        return renames == 0 ? "Account 1" : "crash-" + std::to_string(renames);
    }
};

State expected_after(std::uint32_t steps) {
    State s;
    s.renames = (steps + 3) / 4;                     // steps 1, 5, 9, ...
    s.derived = kBaseDerived + (steps + 2) / 4;      // steps 2, 6, 10, ...
    s.toggled_present = ((steps + 1) / 4) % 2 == 1;  // steps 3, 7, 11, ...
    s.password = (steps / 4) % 2;                    // steps 4, 8, 12, ...
    return s;
}

std::string describe_state(const State& s) {
    return "{renames " + std::to_string(s.renames) + ", derived " + std::to_string(s.derived) +
           ", toggled " + (s.toggled_present ? "present" : "absent") + ", password " +
           std::to_string(s.password) + "}";
}

// Runs steps first..first+count-1, writing each finished step number to fd. Never returns.
[[noreturn]] void run_writer(const std::string& datadir, std::uint32_t first, std::uint32_t count,
                             int fd) {
    auto vault = Vault::open(datadir);
    if (!vault) ::_exit(20);
    const core::Address target = first_account();
    const core::Address toggled = address_of_key(kToggledKey);
    for (std::uint32_t step = first; step < first + count; ++step) {
        const State before = expected_after(step - 1);
        const SecretBuffer password = SecretBuffer::copy_of(kPasswords[before.password]);
        bool ok = false;
        switch (kind_of(step)) {
            case Kind::Rename:
                ok = vault->rename(target, expected_after(step).name()).has_value();
                break;
            case Kind::Derive:
                ok = vault->derive(password, 1).has_value();
                break;
            case Kind::ToggleImport:
                ok = before.toggled_present
                         ? vault->remove(toggled).has_value()
                         : vault->import_private_key(key_bytes(kToggledKey), password).has_value();
                break;
            case Kind::ChangePassword:
                ok = vault
                         ->change_password(password,
                                           SecretBuffer::copy_of(kPasswords[1 - before.password]))
                         .has_value();
                break;
        }
        if (!ok) ::_exit(30 + static_cast<int>(kind_of(step)));
        if (::write(fd, &step, sizeof step) != sizeof step) ::_exit(40);
    }
    ::_exit(0);
}

using Clock = std::chrono::steady_clock;

// Running mean duration of each kind of step, learned from consecutive acknowledgements.
class StepTimes {
  public:
    void add(Kind kind, double micros) {
        auto& [mean, n] = stats_[static_cast<int>(kind)];
        mean = (mean * n + micros) / (n + 1);
        n = std::min(n + 1, 20.0);  // a moving average: adapts if the machine slows down
    }
    bool known(Kind kind) const { return stats_[static_cast<int>(kind)].second > 0; }
    double mean(Kind kind) const { return stats_[static_cast<int>(kind)].first; }

  private:
    std::array<std::pair<double, double>, 4> stats_{};
};

// The writer's acknowledgements as they arrive: step number and arrival time.
struct Acks {
    std::uint32_t last = 0;
    int count = 0;
    Clock::time_point last_time{};
};

// Reads acknowledgements until `want` arrived in total, the child closed the pipe, or timeout.
// Two consecutive ones time the later step.
void read_acks(int fd, Acks& acks, int want, std::chrono::milliseconds timeout, StepTimes& times) {
    const auto deadline = Clock::now() + timeout;
    while (acks.count < want) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
        std::uint32_t step = 0;
        if (::read(fd, &step, sizeof step) != sizeof step) return;  // EOF: the child is gone
        const auto now = Clock::now();
        if (acks.count > 0) {
            times.add(kind_of(step),
                      std::chrono::duration<double, std::micro>(now - acks.last_time).count());
        }
        acks.last = step;
        acks.last_time = now;
        ++acks.count;
    }
}

// Observes the vault on disk; fails the test when it is not a complete, consistent snapshot.
struct Observed {
    State state;
    bool debris = false;  // leftovers of the interrupted write next to the live snapshot
};

void observe(const std::string& datadir, Observed& out) {
    auto vault = Vault::open(datadir);
    ASSERT_TRUE(vault) << describe(vault);
    const core::Address target = first_account();
    const core::Address permanent = address_of_key(kPermanentKey);
    const core::Address toggled = address_of_key(kToggledKey);

    State& s = out.state;
    const Account* first = vault->find(target);
    ASSERT_NE(first, nullptr);
    const std::string prefix = "crash-";
    if (first->name == "Account 1") {
        s.renames = 0;
    } else {
        ASSERT_EQ(first->name.rfind(prefix, 0), 0u) << first->name;
        s.renames = static_cast<std::uint32_t>(std::stoul(first->name.substr(prefix.size())));
    }
    s.derived = 0;
    for (const Account& a : vault->accounts()) {
        if (a.source == AccountSource::Seed) ++s.derived;
    }
    ASSERT_NE(vault->find(permanent), nullptr);
    s.toggled_present = vault->find(toggled) != nullptr;

    // Exactly one of the two passwords opens it.
    const bool first_ok = vault->check_password(SecretBuffer::copy_of(kPasswords[0])).has_value();
    const bool second_ok = vault->check_password(SecretBuffer::copy_of(kPasswords[1])).has_value();
    ASSERT_NE(first_ok, second_ok) << "first password " << first_ok << ", second " << second_ok;
    s.password = first_ok ? 0 : 1;

    auto unlocked = vault->unlock(SecretBuffer::copy_of(kPasswords[s.password]));
    ASSERT_TRUE(unlocked) << describe(unlocked);
    ASSERT_EQ(unlocked->size(), vault->accounts().size());
    for (std::size_t i = 0; i < unlocked->size(); ++i) {
        EXPECT_EQ((*unlocked)[i].address, vault->accounts()[i].address);
        EXPECT_EQ(core::PublicKey::from_private((*unlocked)[i].key).address(),
                  vault->accounts()[i].address);
    }

    // The live snapshot holds exactly its files: no temp files, nothing missing, nothing extra.
    const std::string live = datadir + "/vault/" + vault->generation();
    std::vector<std::string> expected_files{"keys/", "seed.json", "vault.json"};
    for (const Account& a : vault->accounts()) {
        if (a.source == AccountSource::Imported) expected_files.push_back(a.file);
    }
    std::sort(expected_files.begin(), expected_files.end());
    EXPECT_EQ(list_tree(live), expected_files);

    for (const std::string& entry : list_tree(datadir + "/vault")) {
        if (entry == "CURRENT" || entry == "LOCK") continue;
        if (entry.rfind(vault->generation() + "/", 0) == 0) continue;
        out.debris = true;
    }
}

TEST(VaultCrash, SigkillAtRandomInstantsLeavesTheOldOrTheNewState) {
    TempDir tmp;
    const std::string datadir = tmp.path() + "/data";
    {
        auto vault = create_light(datadir, SecretBuffer::copy_of(kPasswords[0]));
        ASSERT_TRUE(vault) << describe(vault);
        const SecretBuffer password = SecretBuffer::copy_of(kPasswords[0]);
        ASSERT_TRUE(vault->derive(password, kBaseDerived));
        ASSERT_TRUE(vault->import_private_key(key_bytes(kPermanentKey), password, "permanent"));
    }
    Observed base;
    ASSERT_NO_FATAL_FAILURE(observe(datadir, base));
    ASSERT_EQ(base.state, expected_after(0)) << describe_state(base.state);

    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("random seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    // Where kills land. The parent waits for 0 to 2 acknowledged steps, then for a delay. With
    // no step finished yet (fork, open) it picks a random delay on one of three scales. Else it
    // knows which step runs next and how long such steps take; a rename is almost nothing but
    // the snapshot write, so its duration measures the write phase at the end of every step.
    // Two times in three the kill is aimed at that phase (the new snapshot's files, the switch of
    // CURRENT, the removal of the old snapshot); otherwise anywhere in the step.
    std::uniform_int_distribution<int> acks_before_kill(0, 2);
    std::uniform_int_distribution<int> scale(0, 2);
    std::uniform_int_distribution<int> aim(0, 2);
    constexpr std::array<int, 3> kMaxDelayMicros = {300, 3'000, 30'000};
    StepTimes times;

    constexpr int kIterations = 64;
    constexpr std::uint32_t kBatch = 6;
    std::uint32_t done = 0;  // steps known to be on disk
    int killed = 0, finished = 0, kept_old = 0, took_new = 0, debris = 0, aimed = 0;
    const auto started = Clock::now();
    for (int iteration = 0; iteration < kIterations; ++iteration) {
        SCOPED_TRACE("iteration " + std::to_string(iteration) + ", steps done " +
                     std::to_string(done));
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            run_writer(datadir, done + 1, kBatch, fds[1]);
        }
        ::close(fds[1]);

        Acks acks;
        acks.last = done;
        read_acks(fds[0], acks, acks_before_kill(rng), std::chrono::seconds(10), times);
        const Kind next = kind_of(acks.last + 1);
        double delay_us = 0;
        if (acks.count == 0 || !times.known(next) || !times.known(Kind::Rename)) {
            delay_us = std::uniform_int_distribution<int>(0, kMaxDelayMicros[scale(rng)])(rng);
        } else {
            ++aimed;
            const double step = times.mean(next);
            const double write = times.mean(Kind::Rename);
            const double from = aim(rng) == 0 ? 0.0 : std::max(0.0, step - 1.5 * write);
            delay_us = std::uniform_real_distribution<double>(from, step + 0.5 * write)(rng);
            // Measured from the acknowledgement, which is when the next step began.
            delay_us -=
                std::chrono::duration<double, std::micro>(Clock::now() - acks.last_time).count();
        }
        if (delay_us > 0)
            std::this_thread::sleep_for(
                std::chrono::microseconds(static_cast<std::int64_t>(delay_us)));
        ::kill(child, SIGKILL);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        read_acks(fds[0], acks, 1'000'000, std::chrono::milliseconds(100), times);
        ::close(fds[0]);
        const std::uint32_t last_ack = acks.last;

        if (WIFSIGNALED(status)) {
            ASSERT_EQ(WTERMSIG(status), SIGKILL);
            ++killed;
        } else {
            ASSERT_TRUE(WIFEXITED(status));
            ASSERT_EQ(WEXITSTATUS(status), 0) << "the writer failed on its own";
            ASSERT_EQ(last_ack, done + kBatch);
            ++finished;
        }

        Observed now;
        ASSERT_NO_FATAL_FAILURE(observe(datadir, now));
        const State old_state = expected_after(last_ack);
        const State new_state = expected_after(last_ack + 1);
        if (now.state == old_state) {
            done = last_ack;
            ++kept_old;
        } else if (now.state == new_state && WIFSIGNALED(status)) {
            done = last_ack + 1;
            ++took_new;
        } else {
            FAIL() << "after " << last_ack << " acknowledged steps the vault shows "
                   << describe_state(now.state) << "; expected " << describe_state(old_state)
                   << " or " << describe_state(new_state);
        }
        if (now.debris) ++debris;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::cout << "[ crash    ] " << kIterations << " writers: " << killed << " killed, " << finished
              << " finished; vault kept the old state " << kept_old << " times, showed the new one "
              << took_new << " times; " << debris << " kills left debris; " << aimed
              << " kills aimed; " << done << " steps in " << seconds << " s\n";
    EXPECT_GT(killed, kIterations / 2);
    EXPECT_GT(done, static_cast<std::uint32_t>(kIterations / 2)) << "the writers made progress";

    // A normal writer cleans up whatever the last crash left.
    auto vault = Vault::open(datadir);
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->rename(first_account(), "final"));
    for (const std::string& entry : list_tree(datadir + "/vault")) {
        EXPECT_TRUE(entry == "CURRENT" || entry == "LOCK" ||
                    entry.rfind(vault->generation() + "/", 0) == 0)
            << entry;
    }
}

// ------------------------------------------------------------------ leftovers of crashes

TEST(VaultCrash, LeftoversOfACrashNeverConfuseOpenAndAreCleanedByTheNextWrite) {
    TempDir tmp;
    const std::string datadir = tmp.path() + "/data";
    const SecretBuffer password = SecretBuffer::copy_of(kPasswords[0]);
    auto created = create_light(datadir, password);
    ASSERT_TRUE(created) << describe(created);
    ASSERT_TRUE(created->derive(password, 2));
    ASSERT_TRUE(created->import_private_key(key_bytes(kPermanentKey), password));
    const std::string vdir = datadir + "/vault";
    const std::string live = created->generation();
    ASSERT_EQ(live, "gen-00000003");

    // What writers killed at various points leave: the next generation half written (a temp
    // file, a garbage vault.json, a key file), a far-away generation, an old generation that was
    // not yet deleted, and a CURRENT.tmp-* naming the half-written snapshot.
    ASSERT_TRUE(ensure_private_dir(vdir + "/gen-00000004/keys"));
    write_text(vdir + "/gen-00000004/vault.json", "{\"format\":\"keybr");
    write_text(vdir + "/gen-00000004/seed.json.tmp-0123456789abcdef", "{\"kind\":");
    write_text(vdir + "/gen-00000004/keys/ffffffffffffffffffffffffffffffffffffffff.json", "{}");
    ASSERT_TRUE(ensure_private_dir(vdir + "/gen-00000002"));
    write_text(vdir + "/gen-00000002/vault.json", "{}");
    ASSERT_TRUE(ensure_private_dir(vdir + "/gen-00000050"));
    write_text(vdir + "/CURRENT.tmp-00112233aabbccdd", "gen-00000004\n");
    write_text(vdir + "/CURRENT.tmp-ffffffffffffffff", "gen-0000");

    auto opened = Vault::open(datadir);
    ASSERT_TRUE(opened) << describe(opened);
    EXPECT_EQ(opened->generation(), live);
    EXPECT_EQ(opened->accounts().size(), 3u);
    auto unlocked = opened->unlock(password);
    ASSERT_TRUE(unlocked) << describe(unlocked);
    EXPECT_EQ(unlocked->size(), 3u);

    ASSERT_TRUE(opened->rename(first_account(), "after the crash"));
    EXPECT_EQ(opened->generation(), "gen-00000004");
    EXPECT_EQ(list_tree(vdir),
              (std::vector<std::string>{
                  "CURRENT", "LOCK", "gen-00000004/", "gen-00000004/keys/",
                  "gen-00000004/keys/" + address_of_key(kPermanentKey).to_lower_string().substr(2) +
                      ".json",
                  "gen-00000004/seed.json", "gen-00000004/vault.json"}));
    auto reopened = Vault::open(datadir);
    ASSERT_TRUE(reopened) << describe(reopened);
    EXPECT_EQ(reopened->find(first_account())->name, "after the crash");
    EXPECT_TRUE(reopened->unlock(password));
    expect_private_modes(datadir);
}

TEST(VaultCrash, ACrashDuringCreateLeavesNoVaultAndCreateCanRunAgain) {
    TempDir tmp;
    const std::string datadir = tmp.path() + "/data";
    const std::string vdir = datadir + "/vault";
    // The first snapshot was being written when the process died: no CURRENT yet.
    ASSERT_TRUE(ensure_private_dir(vdir + "/gen-00000001/keys"));
    write_text(vdir + "/gen-00000001/seed.json", "{\"kind\":\"bip39-phrase\"");
    write_text(vdir + "/CURRENT.tmp-0123456789abcdef", "gen-00000001\n");
    EXPECT_FALSE(Vault::exists(datadir));
    auto opened = Vault::open(datadir);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, core::ErrorCode::NotFound);

    const SecretBuffer password = SecretBuffer::copy_of(kPasswords[0]);
    auto created = create_light(datadir, password);
    ASSERT_TRUE(created) << describe(created);
    EXPECT_TRUE(created->check_password(password));
    EXPECT_EQ(list_tree(vdir),
              (std::vector<std::string>{"CURRENT", "LOCK", "gen-00000001/", "gen-00000001/keys/",
                                        "gen-00000001/seed.json", "gen-00000001/vault.json"}));
}

}  // namespace
}  // namespace keybridge::vault
