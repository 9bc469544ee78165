#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "tests/tools/trezor_sim/sim_device.h"

namespace keybridge::trezor_sim {

// Serves a SimDevice over UDP on 127.0.0.1 the way the Trezor emulator does: one 64-byte report
// per datagram, "PINGPING" answered by "PONGPONG". The host's address is learnt from each
// datagram. A second socket on port + 1 takes text commands (one per datagram, answered with
// one datagram) that script the person:
//   answer approve | answer reject      what the person does at the next ButtonRequests
//   delay MS                            the person takes MS milliseconds per button press
//   matrix                              -> the 9 digits shown at positions 1..9
//   positions PIN                       -> the positions to type for PIN on that matrix
//   buttons                             -> how many ButtonRequests were sent
//   lock                                the device locks and forgets the session's passphrase
// The same port also takes DebugLink reports (protocol v1 framing, as the emulator's DebugLink
// port): DebugLinkDecision presses a button when SimConfig::debuglink_buttons is set.
// Runs on its own thread from start() until stop() / destruction.
class SimServer {
  public:
    // port 0 picks a free port (then the control port is whatever is free too).
    SimServer(std::shared_ptr<SimDevice> device, std::uint16_t port);
    ~SimServer();
    SimServer(const SimServer&) = delete;
    SimServer& operator=(const SimServer&) = delete;

    // Binds both sockets and starts the thread; false (with errno set) when binding fails.
    bool start();
    void stop();
    std::uint16_t port() const { return port_; }
    std::uint16_t control_port() const { return control_port_; }
    SimDevice& device() { return *device_; }
    // Drops every datagram from now on, as if the device were unplugged (false: plugged back).
    void set_unplugged(bool unplugged) { unplugged_ = unplugged; }

  private:
    void run();
    std::string control(const std::string& command);

    std::shared_ptr<SimDevice> device_;
    std::uint16_t port_;
    std::uint16_t control_port_ = 0;
    int fd_ = -1;
    int control_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::atomic<bool> unplugged_{false};
    std::thread thread_;
};

}  // namespace keybridge::trezor_sim
