// Internal to the MLLP listener (included only by mllp_listener.cpp and mllp_connection.h):
// the state a listener shares with its connections, and the reply slot behind a Responder.
// Includes Asio; must never be included from a public header.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "adapters/common/mllp/mllp_listener.h"

namespace phrgate::mllp {

// What a Responder (any thread) and the listener (drain, destruction) may ask of a
// connection. Every call posts to the connection's strand and never runs inline.
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void post_reply(std::uint64_t sequence, std::string payload) = 0;
  virtual void post_skip(std::uint64_t sequence) = 0;  // answered with nothing to write
  virtual void post_abandoned(std::uint64_t sequence) = 0;
  virtual void post_drain() = 0;
  virtual void post_force_close() = 0;
};

namespace detail {
struct ReplySlot {
  ReplySlot(std::weak_ptr<ConnectionBase> c, std::uint64_t seq)
      : connection(std::move(c)), sequence(seq) {}
  ReplySlot(const ReplySlot&) = delete;
  ReplySlot& operator=(const ReplySlot&) = delete;
  ~ReplySlot() {
    if (!used.load(std::memory_order_acquire)) {
      if (auto c = connection.lock()) c->post_abandoned(sequence);
    }
  }

  std::weak_ptr<ConnectionBase> connection;
  std::uint64_t sequence;
  std::atomic<bool> used{false};
};
}  // namespace detail

struct MllpListener::Shared : std::enable_shared_from_this<MllpListener::Shared> {
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Shared(boost::asio::io_context& io_context, MllpListenerOptions opts, FrameHandler handler);

  // Acceptor side (runs on acceptor_strand).
  void do_accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
  void start_connection(boost::asio::ip::tcp::socket socket);
  void stop_accepting();
  void drain(std::chrono::steady_clock::time_point deadline, std::function<void()> on_drained);
  void force_close_all(const char* reason);

  // Connection registry (any thread).
  bool register_connection(std::uint64_t id, std::weak_ptr<ConnectionBase> connection);
  void unregister_connection(std::uint64_t id);

  boost::asio::io_context& io;
  const MllpListenerOptions options;
  const FrameHandler on_frame;
  Strand acceptor_strand;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer accept_retry_timer;
  boost::asio::steady_timer drain_timer;
  std::optional<boost::asio::ssl::context> tls;

  std::atomic<std::uint16_t> bound_port{0};
  std::atomic<bool> shut_down{false};  // listener destroyed: hand no more frames out
  std::atomic<std::uint64_t> next_connection_id{1};

  std::atomic<std::uint64_t> active_connections{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_rejected{0};
  std::atomic<std::uint64_t> frames_received{0};
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> replies_written{0};
  std::atomic<std::uint64_t> oversize_closes{0};
  std::atomic<std::uint64_t> idle_timeouts{0};
  std::atomic<std::uint64_t> garbage_bytes_skipped{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};

  std::mutex mutex;  // guards the members below
  std::unordered_map<std::uint64_t, std::weak_ptr<ConnectionBase>> connections;
  bool draining = false;
  std::function<void()> on_drained;
};

}  // namespace phrgate::mllp
