// keybridge_loadgen: drives a running keybridged with JSON-RPC load and reports throughput,
// latency and the daemon's own CPU time and memory (from /proc/PID). It starts nothing by itself
// except in --startup mode. One thread, one io_context: the generator stays light so that the
// daemon's figures are not distorted by competition for the two cores of a small machine.
//
// Modes:
//   load (default)       N connections, K requests outstanding on each, for S seconds or N requests
//   --idle-connections N opens N WebSocket connections (one eth_chainId each), holds them, reports
//   RSS
//   --startup BIN ARGS…  spawns BIN ARGS…, times the first eth_chainId answer, stops it again
//
// Run with --help for the options. docs/BENCHMARKS.md describes the figures.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace keybridge::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------- options

enum class Mode { Load, Idle, Startup };
enum class Transport { Ws, Http };

struct Options {
    Mode mode = Mode::Load;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string token_file;
    int pid = 0;
    std::string method = "eth_chainId";
    Transport transport = Transport::Ws;
    unsigned connections = 1;
    unsigned inflight = 1;
    double duration_s = 3;
    std::uint64_t requests = 0;  // 0: run for duration_s
    double warmup_s = 1;
    double rate = 0;  // total requests per second, paced; 0: as fast as answers come back
    unsigned idle_connections = 0;
    double hold_s = 1;
    unsigned repeat = 5;
    std::vector<std::string> startup_command;
    bool json_output = false;
    std::string label;  // free text copied into the report (the run script names cells with it)
};

const char* kUsage =
    "usage: keybridge_loadgen --target HOST:PORT --token-file FILE [--pid PID] [options]\n"
    "       keybridge_loadgen --target HOST:PORT --token-file FILE --pid PID --idle-connections N\n"
    "       keybridge_loadgen [--token-file FILE] [--repeat N] --startup BINARY ARGS...\n"
    "\n"
    "  --target HOST:PORT        a running keybridged (loopback)\n"
    "  --token-file FILE         its cookie token (<datadir>/.cookie); without it no\n"
    "                            Authorization header is sent (another server, e.g. anvil)\n"
    "  --pid PID                 its process id: CPU time and RSS are read from /proc/PID\n"
    "  --method M                eth_chainId (default), personal_sign or eth_signTypedData_v4\n"
    "  --transport ws|http       WebSocket (default) or HTTP/1.1 keep-alive (pipelined)\n"
    "  --connections N           concurrent connections (default 1)\n"
    "  --inflight K              requests outstanding on each connection (default 1)\n"
    "  --duration S              measured seconds (default 3), or\n"
    "  --requests N              stop after N measured answers\n"
    "  --warmup S                unmeasured seconds before (default 1)\n"
    "  --rate R                  pace: R requests/s in all, round-robin over the connections\n"
    "                            (each still has at most K outstanding); default: closed loop\n"
    "  --idle-connections N      open N WebSocket connections, hold them, report the daemon's RSS\n"
    "  --hold S                  how long to hold them (default 1)\n"
    "  --startup BINARY ARGS...  time from spawning BINARY to its first eth_chainId answer;\n"
    "                            the token file defaults to <--datadir of ARGS>/.cookie\n"
    "  --repeat N                start-up measurements (default 5)\n"
    "  --label TEXT              copied into the report\n"
    "  --json                    one JSON object on stdout instead of text\n"
    "\n"
    "Signing methods use the first account the token client is granted (eth_requestAccounts):\n"
    "start keybridged with a --policy that approves for the local client, e.g. 'approve "
    "origin=local'. anvil answers eth_requestAccounts with its unlocked dev accounts.\n"
    "An answer counts as an error unless it holds a \"result\"; the JSON report of a signing\n"
    "method carries the first signature (\"signature\"), to compare servers with the same key.\n";

[[noreturn]] void usage_error(const std::string& message) {
    std::fprintf(stderr, "keybridge_loadgen: %s\n\n%s", message.c_str(), kUsage);
    std::exit(2);
}

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "keybridge_loadgen: %s\n", message.c_str());
    std::exit(1);
}

double parse_double(const std::string& name, const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !(v >= 0)) {
        usage_error(name + " needs a non-negative number, not '" + text + "'");
    }
    return v;
}

std::uint64_t parse_count(const std::string& name, const std::string& text, std::uint64_t max) {
    if (text.empty() || text.size() > 12 ||
        !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
        usage_error(name + " needs a whole number, not '" + text + "'");
    }
    const std::uint64_t v = std::stoull(text);
    if (v == 0 || v > max) usage_error(name + " must be between 1 and " + std::to_string(max));
    return v;
}

Options parse_options(int argc, char** argv) {
    Options o;
    bool target_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (arg == "--json") {
            o.json_output = true;
            continue;
        }
        if (arg == "--startup") {
            o.mode = Mode::Startup;
            for (++i; i < argc; ++i)
                o.startup_command.emplace_back(argv[i]);
            if (o.startup_command.empty()) usage_error("--startup needs a program to run");
            break;
        }
        if (i + 1 >= argc) usage_error(arg + " needs a value");
        const std::string value = argv[++i];
        if (arg == "--target") {
            const auto colon = value.rfind(':');
            if (colon == std::string::npos || colon == 0) usage_error("--target must be HOST:PORT");
            o.host = value.substr(0, colon);
            o.port = static_cast<std::uint16_t>(
                parse_count("--target port", value.substr(colon + 1), 65535));
            target_given = true;
        } else if (arg == "--token-file") {
            o.token_file = value;
        } else if (arg == "--pid") {
            o.pid = static_cast<int>(parse_count(arg, value, 1u << 22));
        } else if (arg == "--method") {
            if (value != "eth_chainId" && value != "personal_sign" &&
                value != "eth_signTypedData_v4") {
                usage_error("--method must be eth_chainId, personal_sign or eth_signTypedData_v4");
            }
            o.method = value;
        } else if (arg == "--transport") {
            if (value != "ws" && value != "http") usage_error("--transport must be ws or http");
            o.transport = value == "ws" ? Transport::Ws : Transport::Http;
        } else if (arg == "--connections") {
            o.connections = static_cast<unsigned>(parse_count(arg, value, 100000));
        } else if (arg == "--inflight") {
            o.inflight = static_cast<unsigned>(parse_count(arg, value, 1024));
        } else if (arg == "--duration") {
            o.duration_s = parse_double(arg, value);
        } else if (arg == "--requests") {
            o.requests = parse_count(arg, value, 1'000'000'000);
        } else if (arg == "--warmup") {
            o.warmup_s = parse_double(arg, value);
        } else if (arg == "--rate") {
            o.rate = parse_double(arg, value);
        } else if (arg == "--idle-connections") {
            o.mode = Mode::Idle;
            o.idle_connections = static_cast<unsigned>(parse_count(arg, value, 1'000'000));
        } else if (arg == "--hold") {
            o.hold_s = parse_double(arg, value);
        } else if (arg == "--repeat") {
            o.repeat = static_cast<unsigned>(parse_count(arg, value, 1000));
        } else if (arg == "--label") {
            o.label = value;
        } else {
            usage_error("unknown option " + arg);
        }
    }
    if (o.mode == Mode::Startup) {
        if (o.token_file.empty()) {
            const auto& cmd = o.startup_command;
            for (std::size_t i = 1; i + 1 < cmd.size(); ++i) {
                if (cmd[i] == "--datadir") o.token_file = cmd[i + 1] + "/.cookie";
            }
            if (o.token_file.empty()) usage_error("--startup needs --token-file or --datadir");
        }
        return o;
    }
    if (!target_given) usage_error("--target HOST:PORT is required");
    if (o.duration_s <= 0 && o.requests == 0) usage_error("--duration must be positive");
    return o;
}

// ---------------------------------------------------------------------------------- /proc

struct ProcSample {
    double cpu_s = 0;         // utime + stime of every thread of the process
    double kernel_cpu_s = 0;  // stime alone: system calls, and the network stack they run
    long rss_kb = -1;         // VmRSS
    long hwm_kb = -1;         // VmHWM (peak RSS)
    bool ok = false;
};

ProcSample sample_process(int pid) {
    ProcSample s;
    if (pid <= 0) return s;
    const std::string base = "/proc/" + std::to_string(pid);
    std::ifstream stat(base + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces; the fields after its closing ')' are plain.
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return s;
    std::istringstream fields(text.substr(paren + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields),
                               std::istream_iterator<std::string>()};
    if (f.size() < 13) return s;
    // f[0] is field 3 (state), so utime (field 14) is f[11] and stime (field 15) is f[12].
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    s.kernel_cpu_s = std::stod(f[12]) / ticks;
    std::ifstream status(base + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stol(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = std::stol(line.substr(6));
    }
    s.ok = true;
    return s;
}

double own_cpu_s() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

void raise_fd_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::string read_token(const std::string& path) {
    std::ifstream in(path);
    std::string token;
    std::getline(in, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
        token.pop_back();
    }
    return token;
}

// ---------------------------------------------------------------------------------- requests

// The body of request number `id`: a fixed prefix and suffix around the id, so that building
// one costs a few appends and no JSON serialisation.
class RequestTemplate {
  public:
    RequestTemplate(const std::string& method, const json::value& params)
        : suffix_(",\"method\":\"" + method + "\",\"params\":" + json::serialize(params) + "}") {}

    std::string body(std::uint64_t id) const {
        std::string out;
        out.reserve(kPrefix.size() + 20 + suffix_.size());
        out.append(kPrefix);
        out.append(std::to_string(id));
        out.append(suffix_);
        return out;
    }

  private:
    static constexpr std::string_view kPrefix = "{\"jsonrpc\":\"2.0\",\"id\":";
    std::string suffix_;
};

// The id of a keybridged answer, which is serialised as {"jsonrpc":"2.0","id":N,...}: the first
// "id" key is the top-level one. Scanning for it keeps the generator cheaper than the daemon.
std::optional<std::uint64_t> answer_id(std::string_view text) {
    const auto at = text.find("\"id\":");
    if (at == std::string_view::npos) return std::nullopt;
    std::uint64_t id = 0;
    std::size_t i = at + 5;
    if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
        id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    return id;
}

// Only an answer with a result is a success: an error object, or anything else, is not.
bool answer_is_error(std::string_view text) {
    return text.find("\"error\":") != text.npos || text.find("\"result\":") == text.npos;
}

// A typed-data document for eth_signTypedData_v4 with nested structs and an array, roughly the
// size of a real permit or order.
json::value typed_data_example(std::uint64_t chain_id) {
    json::object types;
    types["EIP712Domain"] =
        json::array{json::object{{"name", "name"}, {"type", "string"}},
                    json::object{{"name", "version"}, {"type", "string"}},
                    json::object{{"name", "chainId"}, {"type", "uint256"}},
                    json::object{{"name", "verifyingContract"}, {"type", "address"}}};
    types["Party"] = json::array{json::object{{"name", "label"}, {"type", "string"}},
                                 json::object{{"name", "account"}, {"type", "address"}}};
    types["Transfer"] = json::array{json::object{{"name", "payer"}, {"type", "Party"}},
                                    json::object{{"name", "payee"}, {"type", "Party"}},
                                    json::object{{"name", "memo"}, {"type", "string"}},
                                    json::object{{"name", "amounts"}, {"type", "uint256[]"}},
                                    json::object{{"name", "deadline"}, {"type", "uint64"}}};
    json::object domain{{"name", "keybridge load test"},
                        {"version", "1"},
                        {"chainId", chain_id},
                        {"verifyingContract", "0x1111111111111111111111111111111111111111"}};
    json::object message{
        {"payer", json::object{{"label", "treasury"},
                               {"account", "0x2222222222222222222222222222222222222222"}}},
        {"payee", json::object{{"label", "supplier"},
                               {"account", "0x3333333333333333333333333333333333333333"}}},
        {"memo", "invoice 2024-117, second instalment"},
        {"amounts", json::array{"1000000000000000000", "250000000000000000", "42"}},
        {"deadline", 1893456000}};
    return json::object{{"types", std::move(types)},
                        {"primaryType", "Transfer"},
                        {"domain", std::move(domain)},
                        {"message", std::move(message)}};
}

// ---------------------------------------------------------------------------------- setup

// Blocking JSON-RPC over HTTP for the few calls before and after a run.
class SyncClient {
  public:
    SyncClient(std::string host, std::uint16_t port, std::string token)
        : host_(std::move(host)), port_(port), token_(std::move(token)) {}

    // The answer's result, or an error text. Gives up after 10 s.
    std::optional<json::value> call(const std::string& method, const json::value& params,
                                    std::string& error) {
        asio::io_context ioc;
        beast::tcp_stream stream(ioc);
        beast::flat_buffer buffer;
        http::request<http::string_body> req{http::verb::post, "/", 11};
        http::response<http::string_body> res;
        req.set(http::field::host, host_header());
        if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
        req.set(http::field::content_type, "application/json");
        req.body() = RequestTemplate(method, params).body(1);
        req.prepare_payload();
        beast::error_code failure;
        // Asynchronous calls only because the stream's deadline applies to those alone.
        stream.expires_after(std::chrono::seconds(10));
        stream.async_connect(
            tcp::endpoint(asio::ip::make_address(host_), port_), [&](beast::error_code ec) {
                if (ec) return void(failure = ec);
                http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
                    if (wec) return void(failure = wec);
                    http::async_read(stream, buffer, res,
                                     [&](beast::error_code rec, std::size_t) { failure = rec; });
                });
            });
        ioc.run();
        if (failure) {
            error = failure.message();
            return std::nullopt;
        }
        json::error_code ec;
        json::value answer = json::parse(res.body(), ec);
        if (ec || !answer.is_object()) {
            error = "HTTP " + std::to_string(res.result_int()) + ": " + res.body();
            return std::nullopt;
        }
        if (const json::value* e = answer.as_object().if_contains("error")) {
            error = json::serialize(*e);
            return std::nullopt;
        }
        if (const json::value* r = answer.as_object().if_contains("result")) return *r;
        error = "answer without a result: " + res.body();
        return std::nullopt;
    }

    std::string host_header() const { return host_ + ":" + std::to_string(port_); }

  private:
    std::string host_;
    std::uint16_t port_;
    std::string token_;
};

// The request parameters for the method, and the first answer's signature (signing methods).
struct Prepared {
    json::value params;
    std::string signature;
};

// Picks the request parameters for the method, and checks once that the daemon answers it.
Prepared prepare_params(const Options& o, SyncClient& client) {
    std::string error;
    if (o.method == "eth_chainId") {
        if (!client.call("eth_chainId", json::array{}, error)) {
            die("eth_chainId failed: " + error);
        }
        return {json::array{}, ""};
    }
    auto chain = client.call("eth_chainId", json::array{}, error);
    if (!chain || !chain->is_string()) die("eth_chainId failed: " + error);
    const std::uint64_t chain_id = std::stoull(std::string(chain->as_string()), nullptr, 16);
    auto accounts = client.call("eth_requestAccounts", json::array{}, error);
    if (!accounts || !accounts->is_array() || accounts->as_array().empty()) {
        die("eth_requestAccounts failed (does the --policy approve for the local "
            "client?): " +
            error);
    }
    const json::value account = accounts->as_array().front();
    json::value params;
    if (o.method == "personal_sign") {
        const std::string text = "keybridge load test: sign in to example.org, nonce 8d1f";
        std::string hex = "0x";
        static constexpr char kDigits[] = "0123456789abcdef";
        for (unsigned char c : text) {
            hex += kDigits[c >> 4];
            hex += kDigits[c & 15];
        }
        params = json::array{json::string(hex), account};
    } else {
        params = json::array{account, json::string(json::serialize(typed_data_example(chain_id)))};
    }
    // The vault unlocks in the background after start: wait for the first signature.
    const auto give_up = Clock::now() + std::chrono::seconds(30);
    for (;;) {
        auto sig = client.call(o.method, params, error);
        if (sig) {
            if (!sig->is_string() || sig->as_string().size() != 132) {
                die(o.method +
                    " answered something that is not a signature: " + json::serialize(*sig));
            }
            return {params, std::string(sig->as_string())};
        }
        if (error.find("locked") == std::string::npos || Clock::now() > give_up) {
            die(o.method + " failed: " + error);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// ---------------------------------------------------------------------------------- load

// Collects the answers of the measured window. Everything runs on the one loop thread.
struct Recorder {
    enum class Phase { Connecting, Warmup, Measure, Done };
    Phase phase = Phase::Connecting;
    std::vector<std::uint32_t> latencies_us;
    std::uint64_t errors = 0;
    std::uint64_t connection_failures = 0;
    std::uint64_t target = 0;         // stop after this many measured answers (0: by time)
    std::function<void()> on_target;  // called once when the target is reached

    bool sending() const { return phase == Phase::Warmup || phase == Phase::Measure; }
    void record(Clock::duration latency, bool error) {
        if (phase != Phase::Measure) return;
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
        latencies_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
        if (error) ++errors;
        if (target != 0 && latencies_us.size() == target && on_target) on_target();
    }
};

struct Shared {
    asio::io_context& ioc;
    tcp::endpoint endpoint;
    std::string host_header;
    std::string token;
    RequestTemplate request;
    Recorder& recorder;
    unsigned inflight;
    bool paced = false;  // requests are offered by the pacer, not sent again on each answer
};

class Connection {
  public:
    virtual ~Connection() = default;
    // Connects (and upgrades); calls ready(ok) once.
    virtual void start(std::function<void(bool)> ready) = 0;
    // Keeps `inflight` requests outstanding while the recorder is sending (unless paced). `limit`
    // > 0 stops after that many requests and calls `done` when all are answered (idle mode).
    virtual void begin(std::uint64_t limit, std::function<void()> done) = 0;
    // Paced mode: sends one request unless `inflight` are outstanding already.
    virtual bool offer() = 0;
    virtual void stop() = 0;
};

// WebSocket: requests go out one frame each, answers may come back in any order (the id says
// which), so the send times are kept next to their ids.
class WsConnection : public Connection, public std::enable_shared_from_this<WsConnection> {
  public:
    explicit WsConnection(Shared& shared) : s_(shared), ws_(shared.ioc) {}

    void start(std::function<void(bool)> ready) override {
        ready_ = std::move(ready);
        beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
        beast::get_lowest_layer(ws_).async_connect(
            s_.endpoint, [self = shared_from_this()](beast::error_code ec) {
                if (ec) return self->fail_start();
                self->ws_.set_option(websocket::stream_base::decorator(
                    [token = self->s_.token](websocket::request_type& req) {
                        if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
                    }));
                self->ws_.async_handshake(self->s_.host_header, "/", [self](beast::error_code hec) {
                    if (hec) return self->fail_start();
                    beast::get_lowest_layer(self->ws_).expires_never();
                    self->ws_.text(true);
                    self->ready_(true);
                });
            });
    }

    void begin(std::uint64_t limit, std::function<void()> done) override {
        limit_ = limit;
        done_ = std::move(done);
        do_read();
        if (s_.paced) return;
        for (unsigned i = 0; i < s_.inflight; ++i)
            send_one();
    }

    bool offer() override {
        if (stopped_ || outstanding() >= s_.inflight) return false;
        send_one();
        return true;
    }

    void stop() override {
        stopped_ = true;
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

  private:
    std::size_t outstanding() const { return pending_.size(); }

    void fail_start() {
        ++s_.recorder.connection_failures;
        ready_(false);
    }

    void send_one() {
        if (stopped_ || !s_.recorder.sending()) return;
        if (limit_ != 0 && sent_ >= limit_) return;
        ++sent_;
        const std::uint64_t id = next_id_++;
        pending_.push_back({id, Clock::now()});
        outbox_.push_back(s_.request.body(id));
        if (!writing_) do_write();
    }

    void do_write() {
        writing_ = true;
        ws_.async_write(asio::buffer(outbox_.front()),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->writing_ = false;
                            if (ec) return self->broken();
                            self->outbox_.pop_front();
                            if (!self->outbox_.empty()) self->do_write();
                        });
    }

    void do_read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->broken();
            self->on_answer();
        });
    }

    void on_answer() {
        const auto now = Clock::now();
        const auto data = buffer_.cdata();
        const std::string_view text(static_cast<const char*>(data.data()), data.size());
        const auto id = answer_id(text);
        auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](const Pending& p) { return id && p.id == *id; });
        if (it != pending_.end()) {
            s_.recorder.record(now - it->sent, answer_is_error(text));
            pending_.erase(it);
            ++answered_;
        }
        buffer_.consume(buffer_.size());
        if (limit_ != 0 && answered_ >= limit_) {
            if (done_) std::exchange(done_, nullptr)();
        } else if (!s_.paced) {
            send_one();
        }
        do_read();
    }

    void broken() {
        if (stopped_) return;
        stopped_ = true;
        if (s_.recorder.sending()) ++s_.recorder.connection_failures;
        if (done_) std::exchange(done_, nullptr)();
    }

    struct Pending {
        std::uint64_t id;
        Clock::time_point sent;
    };
    Shared& s_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::function<void(bool)> ready_;
    std::function<void()> done_;
    std::vector<Pending> pending_;
    std::deque<std::string> outbox_;
    std::uint64_t next_id_ = 1;
    std::uint64_t limit_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t answered_ = 0;
    bool writing_ = false;
    bool stopped_ = false;
};

// HTTP/1.1 keep-alive: with K > 1 the requests are pipelined and answered in order.
class HttpConnection : public Connection, public std::enable_shared_from_this<HttpConnection> {
  public:
    explicit HttpConnection(Shared& shared) : s_(shared), stream_(shared.ioc) {
        head_ = "POST / HTTP/1.1\r\nHost: " + s_.host_header + "\r\n" +
                (s_.token.empty() ? "" : "Authorization: Bearer " + s_.token + "\r\n") +
                "Content-Type: application/json\r\nContent-Length: ";
    }

    void start(std::function<void(bool)> ready) override {
        stream_.expires_after(std::chrono::seconds(10));
        stream_.async_connect(s_.endpoint, [self = shared_from_this(),
                                            ready = std::move(ready)](beast::error_code ec) {
            self->stream_.expires_never();
            if (ec) ++self->s_.recorder.connection_failures;
            ready(!ec);
        });
    }

    void begin(std::uint64_t limit, std::function<void()> done) override {
        limit_ = limit;
        done_ = std::move(done);
        do_read();
        if (s_.paced) return;
        for (unsigned i = 0; i < s_.inflight; ++i)
            send_one();
    }

    bool offer() override {
        if (stopped_ || outstanding() >= s_.inflight) return false;
        send_one();
        return true;
    }

    void stop() override {
        stopped_ = true;
        beast::error_code ignored;
        stream_.socket().close(ignored);
    }

  private:
    std::size_t outstanding() const { return sent_at_.size(); }

    void send_one() {
        if (stopped_ || !s_.recorder.sending()) return;
        if (limit_ != 0 && sent_ >= limit_) return;
        ++sent_;
        const std::string body = s_.request.body(next_id_++);
        std::string text;
        text.reserve(head_.size() + 8 + body.size());
        text.append(head_).append(std::to_string(body.size())).append("\r\n\r\n").append(body);
        sent_at_.push_back(Clock::now());
        outbox_.push_back(std::move(text));
        if (!writing_) do_write();
    }

    void do_write() {
        writing_ = true;
        asio::async_write(stream_.socket(), asio::buffer(outbox_.front()),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->writing_ = false;
                              if (ec) return self->broken();
                              self->outbox_.pop_front();
                              if (!self->outbox_.empty()) self->do_write();
                          });
    }

    void do_read() {
        parser_.emplace();
        parser_->body_limit(1 << 20);
        http::async_read(stream_.socket(), buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return self->broken();
                             self->on_answer();
                         });
    }

    void on_answer() {
        const auto now = Clock::now();
        const auto& res = parser_->get();
        if (!sent_at_.empty()) {
            const bool error = res.result() != http::status::ok || answer_is_error(res.body());
            s_.recorder.record(now - sent_at_.front(), error);
            sent_at_.pop_front();
            ++answered_;
        }
        if (!res.keep_alive()) return broken();
        if (limit_ != 0 && answered_ >= limit_) {
            if (done_) std::exchange(done_, nullptr)();
        } else if (!s_.paced) {
            send_one();
        }
        do_read();
    }

    void broken() {
        if (stopped_) return;
        stopped_ = true;
        if (s_.recorder.sending()) ++s_.recorder.connection_failures;
        if (done_) std::exchange(done_, nullptr)();
    }

    Shared& s_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::response_parser<http::string_body>> parser_;
    std::string head_;
    std::function<void()> done_;
    std::deque<Clock::time_point> sent_at_;
    std::deque<std::string> outbox_;
    std::uint64_t next_id_ = 1;
    std::uint64_t limit_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t answered_ = 0;
    bool writing_ = false;
    bool stopped_ = false;
};

std::vector<std::shared_ptr<Connection>> make_connections(Shared& shared, Transport transport,
                                                          unsigned count) {
    std::vector<std::shared_ptr<Connection>> out;
    out.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        if (transport == Transport::Ws) {
            out.push_back(std::make_shared<WsConnection>(shared));
        } else {
            out.push_back(std::make_shared<HttpConnection>(shared));
        }
    }
    return out;
}

// Starts every connection, `max_pending` handshakes at a time (a burst of a thousand connects
// would overflow the daemon's listen backlog); calls done(opened) when all have finished.
void open_all(asio::io_context& ioc, std::vector<std::shared_ptr<Connection>>& conns,
              unsigned max_pending, std::function<void(std::size_t)> done) {
    struct State {
        std::vector<std::shared_ptr<Connection>>* conns;
        std::size_t next = 0;
        std::size_t finished = 0;
        std::size_t opened = 0;
        std::function<void(std::size_t)> done;
        std::function<void()> launch;
    };
    auto st = std::make_shared<State>();
    st->conns = &conns;
    st->done = std::move(done);
    std::weak_ptr<State> weak = st;
    st->launch = [weak, &ioc] {
        auto state = weak.lock();
        if (!state) return;
        const std::size_t i = state->next++;
        (*state->conns)[i]->start([state, &ioc](bool ok) {
            if (ok) ++state->opened;
            if (++state->finished == state->conns->size()) {
                auto finish = std::move(state->done);
                asio::post(ioc, [finish, opened = state->opened] { finish(opened); });
                return;
            }
            if (state->next < state->conns->size()) state->launch();
        });
    };
    const std::size_t first = std::min<std::size_t>(max_pending, conns.size());
    if (conns.empty()) return st->done(0);
    // The pending connections' callbacks keep the state alive from here on.
    for (std::size_t i = 0; i < first; ++i)
        st->launch();
}

// Nearest-rank percentile of sorted latencies.
std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const std::size_t rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

void print_report(const Options& o, const json::object& r) {
    if (o.json_output) {
        std::printf("%s\n", json::serialize(r).c_str());
        return;
    }
    for (const auto& [key, value] : r) {
        std::string text;
        if (value.is_string()) {
            text = value.as_string();
        } else if (value.is_double()) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.1f", value.as_double());
            text = buf;
        } else {
            text = json::serialize(value);
        }
        std::printf("%-28s %s\n", std::string(key).c_str(), text.c_str());
    }
}

int run_load(const Options& o) {
    raise_fd_limit();
    const std::string token = o.token_file.empty() ? "" : read_token(o.token_file);
    if (!o.token_file.empty() && token.empty()) die("no token in " + o.token_file);
    SyncClient sync(o.host, o.port, token);
    const Prepared prepared = prepare_params(o, sync);
    const json::value& params = prepared.params;

    asio::io_context ioc(1);
    Recorder recorder;
    recorder.target = o.requests;
    Shared shared{ioc,
                  tcp::endpoint(asio::ip::make_address(o.host), o.port),
                  sync.host_header(),
                  token,
                  RequestTemplate(o.method, params),
                  recorder,
                  o.inflight,
                  o.rate > 0};
    auto conns = make_connections(shared, o.transport, o.connections);

    ProcSample before, after;
    double own_before = 0, own_after = 0;
    Clock::time_point measure_start, measure_end;
    asio::steady_timer timer(ioc);
    asio::steady_timer pace_timer(ioc);
    std::uint64_t skipped = 0;  // paced sends dropped because the connection had K outstanding

    auto finish = [&] {
        if (recorder.phase == Recorder::Phase::Done) return;
        measure_end = Clock::now();
        after = sample_process(o.pid);
        own_after = own_cpu_s();
        recorder.phase = Recorder::Phase::Done;
        timer.cancel();
        pace_timer.cancel();
        for (auto& c : conns)
            c->stop();
    };
    recorder.on_target = finish;

    // The pacer issues request i at start + i/rate, round-robin; if the loop falls behind it
    // catches up at once rather than silently lowering the rate.
    Clock::time_point pace_start;
    std::uint64_t issued = 0;
    std::function<void()> pace = [&] {
        if (!recorder.sending()) return;
        const double elapsed = std::chrono::duration<double>(Clock::now() - pace_start).count();
        const auto due = static_cast<std::uint64_t>(elapsed * o.rate) + 1;
        for (; issued < due; ++issued) {
            if (!conns[issued % conns.size()]->offer() &&
                recorder.phase == Recorder::Phase::Measure) {
                ++skipped;
            }
        }
        pace_timer.expires_at(pace_start + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(issued / o.rate)));
        pace_timer.async_wait([&](beast::error_code ec) {
            if (!ec) pace();
        });
    };

    open_all(ioc, conns, 64, [&](std::size_t opened) {
        if (opened != conns.size()) {
            std::fprintf(stderr, "keybridge_loadgen: only %zu of %zu connections opened\n", opened,
                         conns.size());
        }
        recorder.phase = Recorder::Phase::Warmup;
        for (auto& c : conns)
            c->begin(0, nullptr);
        if (o.rate > 0) {
            pace_start = Clock::now();
            pace();
        }
        timer.expires_after(
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_s)));
        timer.async_wait([&](beast::error_code ec) {
            if (ec) return;
            before = sample_process(o.pid);
            own_before = own_cpu_s();
            measure_start = Clock::now();
            recorder.phase = Recorder::Phase::Measure;
            if (o.requests != 0) return;  // on_target ends the run
            timer.expires_after(std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(o.duration_s)));
            timer.async_wait([&](beast::error_code ec2) {
                if (!ec2) finish();
            });
        });
    });
    ioc.run();

    auto lat = std::move(recorder.latencies_us);
    std::sort(lat.begin(), lat.end());
    const double seconds = std::chrono::duration<double>(measure_end - measure_start).count();
    const double n = static_cast<double>(lat.size());
    json::object r;
    if (!o.label.empty()) r["label"] = o.label;
    r["mode"] = "load";
    r["method"] = o.method;
    r["transport"] = o.transport == Transport::Ws ? "ws" : "http";
    r["connections"] = o.connections;
    r["inflight"] = o.inflight;
    if (o.rate > 0) {
        r["rate"] = o.rate;
        r["skipped"] = skipped;
    }
    r["seconds"] = std::round(seconds * 1000) / 1000;
    r["requests"] = lat.size();
    r["errors"] = recorder.errors;
    r["connection_failures"] = recorder.connection_failures;
    r["req_per_s"] = seconds > 0 ? static_cast<std::int64_t>(std::round(n / seconds)) : 0;
    r["p50_us"] = percentile(lat, 50);
    r["p90_us"] = percentile(lat, 90);
    r["p99_us"] = percentile(lat, 99);
    r["max_us"] = lat.empty() ? 0 : lat.back();
    if (before.ok && after.ok) {
        const double cpu = after.cpu_s - before.cpu_s;
        r["daemon_cpu_s"] = std::round(cpu * 1000) / 1000;
        r["daemon_cpu_us_per_req"] = n > 0 ? std::round(cpu / n * 1e7) / 10 : 0;
        const double kernel = after.kernel_cpu_s - before.kernel_cpu_s;
        r["daemon_kernel_cpu_us_per_req"] = n > 0 ? std::round(kernel / n * 1e7) / 10 : 0;
        r["daemon_rss_before_kb"] = before.rss_kb;
        r["daemon_rss_after_kb"] = after.rss_kb;
        r["daemon_rss_peak_kb"] = after.hwm_kb;
    }
    r["loadgen_cpu_us_per_req"] = n > 0 ? std::round((own_after - own_before) / n * 1e7) / 10 : 0;
    if (!prepared.signature.empty()) r["signature"] = prepared.signature;
    print_report(o, r);
    return recorder.connection_failures == 0 && recorder.errors == 0 && !lat.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------------- idle

int run_idle(const Options& o) {
    raise_fd_limit();
    const std::string token = o.token_file.empty() ? "" : read_token(o.token_file);
    if (!o.token_file.empty() && token.empty()) die("no token in " + o.token_file);
    SyncClient sync(o.host, o.port, token);
    const ProcSample before = sample_process(o.pid);

    asio::io_context ioc(1);
    Recorder recorder;
    Shared shared{ioc,   tcp::endpoint(asio::ip::make_address(o.host), o.port), sync.host_header(),
                  token, RequestTemplate("eth_chainId", json::array{}),         recorder,
                  1};
    auto conns = make_connections(shared, Transport::Ws, o.idle_connections);
    std::size_t opened = 0;
    ProcSample held;
    asio::steady_timer timer(ioc);
    const auto t0 = Clock::now();
    double open_s = 0;

    open_all(ioc, conns, 64, [&](std::size_t n) {
        opened = n;
        open_s = std::chrono::duration<double>(Clock::now() - t0).count();
        // One eth_chainId on every connection, as a page does on connecting; then idle.
        recorder.phase = Recorder::Phase::Measure;
        auto remaining = std::make_shared<std::size_t>(conns.size());
        for (auto& c : conns) {
            c->begin(1, [&, remaining] {
                if (--*remaining != 0) return;
                recorder.phase = Recorder::Phase::Connecting;  // idle: nothing more is sent
                timer.expires_after(std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(o.hold_s)));
                timer.async_wait([&](beast::error_code ec) {
                    if (ec) return;
                    held = sample_process(o.pid);
                    recorder.phase = Recorder::Phase::Done;
                    for (auto& conn : conns)
                        conn->stop();
                });
            });
        }
    });
    ioc.run();

    json::object r;
    if (!o.label.empty()) r["label"] = o.label;
    r["mode"] = "idle";
    r["connections"] = o.idle_connections;
    r["opened"] = opened;
    r["open_seconds"] = std::round(open_s * 1000) / 1000;
    r["answered"] = recorder.latencies_us.size();
    r["errors"] = recorder.errors;
    r["daemon_rss_before_kb"] = before.rss_kb;
    r["daemon_rss_held_kb"] = held.rss_kb;
    r["daemon_rss_peak_kb"] = held.hwm_kb;
    if (opened > 0 && before.ok && held.ok) {
        r["daemon_kb_per_connection"] =
            std::round(static_cast<double>(held.rss_kb - before.rss_kb) / opened * 10) / 10;
    }
    print_report(o, r);
    return opened == o.idle_connections && recorder.errors == 0 &&
                   recorder.latencies_us.size() == opened
               ? 0
               : 1;
}

// ---------------------------------------------------------------------------------- startup

struct StartupResult {
    double listening_ms = -1;  // until the "listening on" log line
    double answer_ms = -1;     // until the first eth_chainId answer
    long rss_kb = -1;          // RSS right after that answer
    std::string error;
};

StartupResult time_one_start(const Options& o) {
    StartupResult result;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        result.error = std::string("pipe: ") + std::strerror(errno);
        return result;
    }
    std::vector<char*> argv;
    for (const auto& a : o.startup_command)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const auto t0 = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDERR_FILENO);
        ::execv(argv[0], argv.data());
        std::_Exit(127);
    }
    ::close(fds[1]);
    if (pid < 0) {
        ::close(fds[0]);
        result.error = std::string("fork: ") + std::strerror(errno);
        return result;
    }
    auto ms_since_start = [&] {
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    };

    // Wait for "listening on HOST:PORT" on its standard error.
    std::string log;
    std::string host;
    std::uint16_t port = 0;
    while (port == 0) {
        pollfd p{fds[0], POLLIN, 0};
        const int left_ms = 10000 - static_cast<int>(ms_since_start());
        if (left_ms <= 0 || ::poll(&p, 1, left_ms) <= 0) {
            result.error = "no 'listening on' line within 10 s";
            break;
        }
        char buf[4096];
        const ssize_t got = ::read(fds[0], buf, sizeof buf);
        if (got <= 0) {
            result.error = "keybridged exited: " + log;
            break;
        }
        log.append(buf, static_cast<std::size_t>(got));
        const auto at = log.find("listening on ");
        const auto eol = at == std::string::npos ? at : log.find('\n', at);
        if (eol == std::string::npos) continue;
        const std::string where = log.substr(at + 13, eol - at - 13);
        const auto colon = where.rfind(':');
        host = where.substr(0, colon);
        if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
        port = static_cast<std::uint16_t>(std::stoul(where.substr(colon + 1)));
        result.listening_ms = ms_since_start();
    }
    if (port != 0) {
        // The cookie is written before the listener opens, so it is there by now.
        SyncClient client(host, port, read_token(o.token_file));
        std::string error;
        if (client.call("eth_chainId", json::array{}, error)) {
            result.answer_ms = ms_since_start();
            result.rss_kb = sample_process(pid).rss_kb;
        } else {
            result.error = "eth_chainId failed: " + error;
        }
    }
    ::kill(pid, SIGTERM);
    // Drain its log so that it never blocks on a full pipe while stopping.
    for (char buf[4096]; ::read(fds[0], buf, sizeof buf) > 0;) {
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return result;
}

int run_startup(const Options& o) {
    std::vector<double> listening, answers;
    std::vector<long> rss;
    json::array runs;
    for (unsigned i = 0; i < o.repeat; ++i) {
        const StartupResult r = time_one_start(o);
        if (!r.error.empty()) {
            std::fprintf(stderr, "keybridge_loadgen: start %u: %s\n", i + 1, r.error.c_str());
            return 1;
        }
        listening.push_back(r.listening_ms);
        answers.push_back(r.answer_ms);
        rss.push_back(r.rss_kb);
        runs.push_back(json::object{{"listening_ms", std::round(r.listening_ms * 100) / 100},
                                    {"first_answer_ms", std::round(r.answer_ms * 100) / 100},
                                    {"rss_kb", r.rss_kb}});
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    json::object r;
    if (!o.label.empty()) r["label"] = o.label;
    r["mode"] = "startup";
    r["runs"] = o.repeat;
    r["first_answer_ms_median"] = std::round(median(answers) * 100) / 100;
    r["first_answer_ms_min"] =
        std::round(*std::min_element(answers.begin(), answers.end()) * 100) / 100;
    r["first_answer_ms_max"] =
        std::round(*std::max_element(answers.begin(), answers.end()) * 100) / 100;
    r["listening_ms_median"] = std::round(median(listening) * 100) / 100;
    r["rss_after_first_answer_kb_median"] =
        static_cast<long>(median(std::vector<double>(rss.begin(), rss.end())));
    if (!o.json_output) r["each"] = std::move(runs);
    print_report(o, r);
    return 0;
}

}  // namespace
}  // namespace keybridge::bench

int main(int argc, char** argv) {
    using namespace keybridge::bench;
    ::signal(SIGPIPE, SIG_IGN);
    const Options options = parse_options(argc, argv);
    switch (options.mode) {
        case Mode::Load:
            return run_load(options);
        case Mode::Idle:
            return run_idle(options);
        case Mode::Startup:
            return run_startup(options);
    }
    return 2;
}
