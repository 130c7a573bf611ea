// MllpListener: the MLLP server (plain TCP or TLS) that hands each received frame to a
// handler and writes the handler's replies back in arrival order. Used by the HL7 v2 source.
// Knows nothing of HL7; never logs payload bytes; Asio stays out of this header (pimpl).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/common/mllp/mllp_framer.h"

namespace boost::asio {
class io_context;
}

namespace phrgate::mllp {

struct MllpServerTlsOptions {
  std::string cert_file;                // PEM certificate chain
  std::string key_file;                 // PEM private key (unencrypted)
  std::optional<std::string> ca_file;   // set: clients must present a cert signed by it
};

struct MllpListenerOptions {
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 0;  // 0: ephemeral; MllpListener::port() tells the bound one
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(300);
  std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  std::size_t max_connections = 1024;
  std::size_t max_in_flight_per_connection = 64;
  std::optional<MllpServerTlsOptions> tls;
  std::string log_name = "mllp";  // "source" field of this listener's log lines
};

namespace detail {
struct ReplySlot;
}

// Handle for answering one frame. Copyable; respond() may be called from any thread, and
// only the first call on any copy counts. If the connection is gone, respond() does nothing.
// If every copy is dropped without responding, the connection is closed (its later replies
// could no longer be written in order). skip() answers a frame with no reply at all (e.g. an
// HL7 message whose MSH-15 says "never acknowledge"): later replies still go out in order.
class Responder {
 public:
  Responder() = default;  // answers nothing
  explicit Responder(std::shared_ptr<detail::ReplySlot> slot) : slot_(std::move(slot)) {}
  void respond(std::string payload) const;
  void skip() const;  // counts as the one answer, writes nothing
  bool responded() const;

 private:
  std::shared_ptr<detail::ReplySlot> slot_;
};

struct MllpFrame {
  std::string payload;            // bytes between 0x0B and 0x1C 0x0D
  std::string peer;               // "ip:port" ("[v6]:port")
  std::uint64_t connection_id = 0;
  std::uint64_t sequence = 0;     // 0, 1, 2... per connection, in arrival order
  Responder responder;
};

struct MllpListenerStats {
  std::uint64_t active_connections = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_rejected = 0;  // over max_connections
  std::uint64_t frames_received = 0;       // handed to the handler
  std::uint64_t bytes_received = 0;        // raw bytes read (after TLS)
  std::uint64_t replies_written = 0;
  std::uint64_t oversize_closes = 0;
  std::uint64_t idle_timeouts = 0;
  std::uint64_t garbage_bytes_skipped = 0;  // outside frames, or in frames cut by a restart
  std::uint64_t tls_handshake_failures = 0;
};

class MllpListener {
 public:
  // Called on the connection's strand; must not block (hand the frame on, respond later).
  using FrameHandler = std::function<void(MllpFrame frame)>;

  // `io` must outlive the listener. Nothing happens until start().
  MllpListener(boost::asio::io_context& io, MllpListenerOptions options, FrameHandler on_frame);
  ~MllpListener();  // stops accepting and force-closes connections
  MllpListener(const MllpListener&) = delete;
  MllpListener& operator=(const MllpListener&) = delete;

  // Binds, listens and starts accepting. Throws std::runtime_error (bad address, port in
  // use, unreadable certificate or key).
  void start();
  std::uint16_t port() const;  // bound port once started, else 0

  // Stops accepting new connections (any thread; idempotent). Open connections continue.
  void stop();
  // Stops accepting; stops reading; closes each connection once its in-flight replies are
  // written; force-closes whatever is left at `deadline`. `on_drained` (optional) runs once
  // on an io_context thread when no connection is left.
  void close_idle_and_drain(std::chrono::steady_clock::time_point deadline,
                            std::function<void()> on_drained = {});

  MllpListenerStats stats() const;  // any thread

  struct Shared;  // internal: state shared with connections (mllp_listener_shared.h)

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace phrgate::mllp
