// keybridged: the local JSON-RPC daemon.
#include <sys/stat.h>

#include <cstdio>

#include "core/process_guard.h"
#include "daemon/log.h"
#include "daemon/options.h"
#include "daemon/server.h"

int main(int argc, char** argv) {
    using namespace keybridge::daemon;
    // Keys live in this process: no core dumps, no ptrace by other users, secrets in one locked
    // arena, private files.
    const keybridge::core::ProcessGuard guard = keybridge::core::protect_process();
    ::umask(077);

    auto parsed = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    if (!parsed) {
        std::fprintf(stderr, "keybridged: %s\n", parsed.error().detail.c_str());
        return 2;
    }
    if (parsed->show_help) {
        std::fputs(help_text().c_str(), stdout);
        return 0;
    }
    if (parsed->show_version) {
        std::printf("keybridged %s\n", kVersion);
        return 0;
    }
    log::Level level = log::Level::Info;
    log::parse_level(parsed->config.log_level, level);
    log::set_level(level);
    if (guard.heap.state == keybridge::core::SecureHeapState::Failed) {
        std::fprintf(stderr, "keybridged: %s\n",
                     keybridge::core::secure_heap_problem(guard).c_str());
        return 1;
    }
    if (guard.heap.state == keybridge::core::SecureHeapState::Unlocked)
        log::warn("memory", keybridge::core::secure_heap_problem(guard));
    else
        log::info("memory", "keys and passwords are held in a locked " +
                                std::to_string(guard.heap.size / 1024) + " KiB arena");
    if (!guard.non_dumpable || !guard.no_core)
        log::warn("memory", "could not disable core dumps (prctl/setrlimit refused)");
    for (const auto& notice : parsed->notices)
        log::warn("config", notice);

    Server server(std::move(parsed->config));
    if (auto started = server.start(); !started) {
        std::fprintf(stderr, "keybridged: %s\n", started.error().detail.c_str());
        return 1;
    }
    server.run();
    return 0;
}
