#pragma once

// The ways a host reaches the simulated device, each written here independently of
// drivers/ledger (so that a shared mistake cannot hide):
//  - the Speculos APDU TCP protocol: the host sends a 4-byte big-endian length and the APDU; the
//    device answers with a 4-byte big-endian length of the reply data (the status word not
//    counted), the data, then the 2-byte status word, in one write;
//  - raw HID reports on a file descriptor (a SOCK_SEQPACKET socketpair: one 64-byte report per
//    packet): channel 0x0101, tag 0x05, a big-endian sequence number from 0, the APDU's
//    big-endian length in the first report only, zero padding;
//  - the control line protocol of the scripted user (control_command below).

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"
#include "tests/tools/ledger_sim/eth_app.h"

namespace keybridge::tests::ledger_sim {

// ---- HID framing (device side) ----
namespace hid {

inline constexpr std::size_t kReportSize = 64;
inline constexpr std::uint16_t kChannel = 0x0101;
inline constexpr std::uint8_t kTag = 0x05;
using Report = std::array<std::uint8_t, kReportSize>;

// The reports that carry `message` (an APDU or a reply) on the channel.
std::vector<Report> frame(ByteView message);

// Collects reports into one message. feed() returns the message when its last report arrived,
// nullopt while more are needed, or an error (ProtocolError) for a report on another channel,
// with another tag, out of sequence, or shorter than a report; after an error it starts afresh.
class Reassembler {
  public:
    [[nodiscard]] core::Result<std::optional<Bytes>> feed(ByteView report);

  private:
    Bytes message_;
    std::size_t expected_ = 0;
    std::uint16_t next_sequence_ = 0;
};

}  // namespace hid

// Serves raw HID reports on fd (one report per read/write, as on a SOCK_SEQPACKET socketpair;
// a 65-byte write with a leading 0x00 report id is accepted too) until the peer closes it or
// stop() is called on the returned handle's owner. Malformed reports are reported on stderr and
// dropped, like a device ignoring noise. Returns when the fd reaches end of file.
void serve_hid(int fd, EthApp& app);

// The Speculos APDU port on 127.0.0.1. Clients are served one after another, each on the
// server's thread; a second client waits until the first disconnects.
class ApduTcpServer {
  public:
    // port 0 picks a free port (see port()). IoError when the listener cannot be set up.
    [[nodiscard]] static core::Result<std::unique_ptr<ApduTcpServer>> start(EthApp& app, User& user,
                                                                            std::uint16_t port);
    ~ApduTcpServer();  // stops serving and joins the thread

    std::uint16_t port() const { return port_; }
    // Drops the connected client, as if the device were unplugged mid-request: a prompt that is
    // waiting ends without an answer and the connection closes without a reply.
    void unplug();

  private:
    ApduTcpServer(EthApp& app, User& user, int listen_fd, std::uint16_t port);
    void run();
    void serve_client(int fd);

    EthApp& app_;
    User& user_;
    int listen_fd_;
    int wake_[2] = {-1, -1};  // a pipe: a byte written here ends poll() waits
    std::uint16_t port_;
    std::atomic<int> client_fd_{-1};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// Applies one line of the control protocol and returns the one-line answer ("ok ..." or
// "error ..."). Commands:
//   approve | reject | hold        how the user answers prompts from now on (hold: they wait)
//   press approve | press reject   answer the waiting prompt, or the next one
//   wait-prompt [MILLISECONDS]     wait (default 5000 ms) until a prompt is waiting; answers
//                                  "ok <prompt text>" or "error timeout"
//   lock [SW] | unlock             PIN screen on (every APDU answers SW, default 5515) / off
//                                  (Ethereum app open)
//   dashboard [SW]                 close the app (E0 commands answer SW, default 6D00)
//   open ethereum | open NAME [SW] open the Ethereum app, or another app (E0 commands answer SW,
//                                  default 6E00); SW is 4 hex digits and is kept for next time
//   blind on | blind off           the app's blind signing setting
//   cal-test-key on | off          also trust Ledger's CAL test key (descriptors, filters)
//   version X.Y.Z                  the Ethereum app version reported and obeyed
//   unplug                         drop the APDU connection mid-request (TCP only)
//   status                         "ok state=… app=… version=… blind=on|off user=… waiting=yes|no
//                                   prompts=N apdus=N interrupted=N" (interrupted: multi-APDU
//                                   flows another command cut short, i.e. interleaved hosts)
//   last-prompt                    "ok <text of the latest prompt>" ("error none" before one)
// server may be null (then unplug answers an error).
std::string control_command(EthApp& app, User& user, ApduTcpServer* server, std::string_view line);

}  // namespace keybridge::tests::ledger_sim
