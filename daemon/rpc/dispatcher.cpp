#include "daemon/rpc/dispatcher.h"

#include <atomic>
#include <mutex>

#include "daemon/log.h"

namespace keybridge::daemon::rpc {

namespace json = boost::json;

void Dispatcher::add(MethodSpec spec) {
    std::string name = spec.name;
    methods_.insert_or_assign(std::move(name), std::move(spec));
}

const MethodSpec* Dispatcher::find(std::string_view name) const {
    auto it = methods_.find(name);
    return it == methods_.end() ? nullptr : &it->second;
}

void Dispatcher::set_fallback(Fallback fallback) {
    fallback_ = std::move(fallback);
}

std::vector<const MethodSpec*> Dispatcher::methods() const {
    std::vector<const MethodSpec*> out;
    for (const auto& [name, spec] : methods_)
        out.push_back(&spec);
    return out;
}

bool allowed(Access access, const Client& client) {
    switch (access) {
        case Access::Anyone:
            return true;
        case Access::TokenOnly:
            return client.token_authenticated;
        case Access::ApproverOnly:
            return client.approver;
    }
    return false;
}

void Dispatcher::run_call(const std::shared_ptr<const Client>& client, const Call& call,
                          Reply reply) const {
    const MethodSpec* spec = find(call.method);
    if (spec == nullptr && !fallback_) {
        reply(tl::unexpected(RpcError{
            kMethodNotFound, "the method " + call.method + " does not exist / is not available",
            std::nullopt}));
        return;
    }
    if (spec != nullptr && !allowed(spec->access, *client)) {
        reply(tl::unexpected(RpcError{
            kUnauthorized,
            spec->access == Access::TokenOnly
                ? call.method + " requires the cookie token of keybridged"
                : call.method + " is for approvers: it is served only on the control socket "
                                "in keybridged's data folder (the keybridge tool uses it) and "
                                "to the approval page (keybridge ui)",
            std::nullopt}));
        return;
    }
    // The single catch-all: an exception here is a bug, answered as an internal error.
    // Replies are idempotent (see dispatch), so the copy kept here can answer if it throws.
    try {
        if (spec != nullptr) {
            spec->handler(client, call.params, reply);
        } else {
            fallback_(client, call.method, call.params, reply);
        }
    } catch (const std::exception& e) {
        log::error("rpc", "handler of " + call.method + " threw: " + e.what());
        reply(tl::unexpected(RpcError{kInternalError, "internal error", std::nullopt}));
    }
}

void Dispatcher::dispatch(const std::shared_ptr<const Client>& client, Payload payload,
                          std::function<void(std::optional<std::string>)> done) const {
    if (!payload.is_batch && payload.entries.size() == 1) {
        // One call, as nearly every request is: its answer is the response itself, with no
        // batch to assemble (no lock, no list of responses, no copy of the answer's text).
        auto& entry = payload.entries.front();
        if (entry.error) return done(error_text(entry.id_text, *entry.error));
        struct Single {
            std::atomic<bool> replied{false};
            bool notification = false;
            std::string id;
            std::function<void(std::optional<std::string>)> done;
        };
        auto single = std::make_shared<Single>();
        const Call call = std::move(*entry.call);
        single->notification = call.is_notification();
        single->id = call.id_text;
        single->done = std::move(done);
        // Replies may come from any thread, once; a second call is a bug and is ignored.
        run_call(client, call, [single](Outcome outcome) {
            if (single->replied.exchange(true)) return;
            if (single->notification) {
                single->done(std::nullopt);
            } else if (outcome) {
                single->done(result_text(single->id, *outcome));
            } else {
                single->done(error_text(single->id, outcome.error()));
            }
        });
        return;
    }
    struct Batch {
        std::mutex mutex;
        std::vector<std::optional<std::string>> responses;
        std::size_t remaining = 0;
        bool is_batch = false;
        std::function<void(std::optional<std::string>)> done;
    };
    auto batch = std::make_shared<Batch>();
    batch->responses.resize(payload.entries.size());
    batch->remaining = payload.entries.size();
    batch->is_batch = payload.is_batch;
    batch->done = std::move(done);

    // Responses are JSON text: ids are echoed as their requests spelled them (Call::id_text).
    auto finish_one = [batch](std::size_t index, std::optional<std::string> response) {
        std::unique_lock lock(batch->mutex);
        batch->responses[index] = std::move(response);
        if (--batch->remaining != 0) return;
        lock.unlock();
        std::string out;
        std::size_t count = 0;
        for (auto& r : batch->responses) {
            if (!r) continue;
            out.append(count++ == 0 ? "" : ",").append(*r);
        }
        if (count == 0) {
            batch->done(std::nullopt);
        } else if (!batch->is_batch) {
            batch->done(std::move(out));
        } else {
            batch->done("[" + out + "]");
        }
    };

    for (std::size_t i = 0; i < payload.entries.size(); ++i) {
        auto& entry = payload.entries[i];
        if (entry.error) {
            finish_one(i, error_text(entry.id_text, *entry.error));
            continue;
        }
        Call call = std::move(*entry.call);
        const bool notification = call.is_notification();
        std::string id = call.id_text;
        // Replies may come from any thread, once; a second call is a bug and is ignored.
        auto replied = std::make_shared<std::atomic<bool>>(false);
        run_call(client, call, [finish_one, i, id, notification, replied](Outcome outcome) {
            if (replied->exchange(true)) return;
            if (notification) {
                finish_one(i, std::nullopt);
            } else if (outcome) {
                finish_one(i, result_text(id, *outcome));
            } else {
                finish_one(i, error_text(id, outcome.error()));
            }
        });
    }
}

}  // namespace keybridge::daemon::rpc
