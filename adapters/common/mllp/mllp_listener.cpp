// MllpListener: binds and accepts (on its own strand), builds plain or TLS connections
// (mllp_connection.h), tracks them for drain, and implements Responder. Used by the HL7 v2
// source. Never logs payload bytes; never lets a handler run after the listener is destroyed.
#include "adapters/common/mllp/mllp_listener.h"

#include <openssl/ssl.h>

#include <stdexcept>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/verify_mode.hpp>

#include "adapters/common/mllp/mllp_connection.h"
#include "adapters/common/mllp/mllp_listener_shared.h"
#include "gateway/core/log.h"

namespace phrgate::mllp {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string endpoint_text(const tcp::endpoint& ep) {
  const asio::ip::address address = ep.address();
  std::string text = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  text += ':';
  text += std::to_string(ep.port());
  return text;
}

void load_server_tls(asio::ssl::context& ctx, const MllpServerTlsOptions& tls) {
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(tls.cert_file, ec);
  if (ec) throw std::runtime_error("mllp tls: cannot load certificate " + tls.cert_file + ": " + ec.message());
  ctx.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("mllp tls: cannot load private key " + tls.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    throw std::runtime_error("mllp tls: private key " + tls.key_file + " does not match certificate");
  }
  if (tls.ca_file) {
    ctx.load_verify_file(*tls.ca_file, ec);
    if (ec) throw std::runtime_error("mllp tls: cannot load CA file " + *tls.ca_file + ": " + ec.message());
    ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  } else {
    ctx.set_verify_mode(asio::ssl::verify_none);
  }
}

}  // namespace

// ---- Responder -------------------------------------------------------------------------

void Responder::respond(std::string payload) const {
  if (!slot_ || slot_->used.exchange(true, std::memory_order_acq_rel)) return;
  if (auto connection = slot_->connection.lock()) {
    connection->post_reply(slot_->sequence, std::move(payload));
  }
}

void Responder::skip() const {
  if (!slot_ || slot_->used.exchange(true, std::memory_order_acq_rel)) return;
  if (auto connection = slot_->connection.lock()) connection->post_skip(slot_->sequence);
}

bool Responder::responded() const { return slot_ && slot_->used.load(std::memory_order_acquire); }

// ---- Shared ----------------------------------------------------------------------------

MllpListener::Shared::Shared(asio::io_context& io_context, MllpListenerOptions opts,
                             FrameHandler handler)
    : io(io_context),
      options(std::move(opts)),
      on_frame(std::move(handler)),
      acceptor_strand(asio::make_strand(io_context)),
      acceptor(acceptor_strand),
      accept_retry_timer(acceptor_strand),
      drain_timer(acceptor_strand) {}

void MllpListener::Shared::do_accept() {
  acceptor.async_accept(asio::make_strand(io),
                        [self = shared_from_this()](const boost::system::error_code& ec,
                                                    tcp::socket socket) {
                          self->on_accept(ec, std::move(socket));
                        });
}

void MllpListener::Shared::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (!acceptor.is_open() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Typically out of file descriptors: pause briefly instead of spinning.
    log::warn("mllp.accept_failed", {{"source", options.log_name}, {"error", ec.message()}});
    accept_retry_timer.expires_after(std::chrono::milliseconds(100));
    accept_retry_timer.async_wait([self = shared_from_this()](const boost::system::error_code& wait_ec) {
      if (!wait_ec && self->acceptor.is_open()) self->do_accept();
    });
    return;
  }
  if (active_connections.load(std::memory_order_relaxed) >= options.max_connections) {
    connections_rejected.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    log::warn("mllp.connection_rejected",
              {{"source", options.log_name},
               {"peer", peer_ec ? std::string("unknown") : endpoint_text(peer)},
               {"limit", std::to_string(options.max_connections)}});
    boost::system::error_code ignored;
    socket.close(ignored);
  } else {
    start_connection(std::move(socket));
  }
  do_accept();
}

void MllpListener::Shared::start_connection(tcp::socket socket) {
  boost::system::error_code ec;
  const tcp::endpoint peer_endpoint = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  std::string peer = endpoint_text(peer_endpoint);
  socket.set_option(tcp::no_delay(true), ec);
  const std::uint64_t id = next_connection_id.fetch_add(1, std::memory_order_relaxed);

  std::shared_ptr<ConnectionBase> base;
  std::function<void()> start;
  if (tls) {
    auto c = std::make_shared<Connection<TlsStream>>(shared_from_this(),
                                                     TlsStream(std::move(socket), *tls), id, peer);
    start = [c] { c->start(); };
    base = c;
  } else {
    auto c = std::make_shared<Connection<tcp::socket>>(shared_from_this(), std::move(socket), id, peer);
    start = [c] { c->start(); };
    base = c;
  }
  active_connections.fetch_add(1, std::memory_order_relaxed);
  if (!register_connection(id, base)) {  // draining: accept nothing new
    base->post_force_close();  // close_now() undoes the count above
    return;
  }
  connections_accepted.fetch_add(1, std::memory_order_relaxed);
  log::debug("mllp.connection_opened", {{"source", options.log_name}, {"peer", peer},
                                        {"connection", std::to_string(id)}});
  start();
}

bool MllpListener::Shared::register_connection(std::uint64_t id, std::weak_ptr<ConnectionBase> connection) {
  std::lock_guard<std::mutex> lock(mutex);
  if (draining || shut_down.load(std::memory_order_acquire)) return false;
  connections.emplace(id, std::move(connection));
  return true;
}

void MllpListener::Shared::unregister_connection(std::uint64_t id) {
  std::function<void()> done;
  {
    std::lock_guard<std::mutex> lock(mutex);
    connections.erase(id);
    if (!draining || !connections.empty()) return;
    done = std::move(on_drained);
    on_drained = nullptr;
  }
  asio::post(acceptor_strand, [self = shared_from_this()] { self->drain_timer.cancel(); });
  if (done) asio::post(io, std::move(done));
}

void MllpListener::Shared::stop_accepting() {
  asio::post(acceptor_strand, [self = shared_from_this()] {
    if (!self->acceptor.is_open()) return;
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
    self->accept_retry_timer.cancel();
    log::info("mllp.stopped_accepting", {{"source", self->options.log_name},
                                         {"port", std::to_string(self->bound_port.load())}});
  });
}

void MllpListener::Shared::drain(std::chrono::steady_clock::time_point deadline,
                                 std::function<void()> drained) {
  stop_accepting();
  std::vector<std::shared_ptr<ConnectionBase>> live;
  bool none_left = false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    draining = true;
    for (auto& [id, weak] : connections) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
    none_left = connections.empty();
    if (!none_left) on_drained = std::move(drained);
  }
  if (none_left) {
    if (drained) asio::post(io, std::move(drained));
    return;
  }
  // Armed on the acceptor strand, where unregister_connection() cancels it: if the last
  // connection closed before this runs, there is nothing to arm.
  asio::post(acceptor_strand, [self = shared_from_this(), deadline] {
    {
      std::lock_guard<std::mutex> lock(self->mutex);
      if (self->connections.empty()) return;
    }
    self->drain_timer.expires_at(deadline);
    self->drain_timer.async_wait([self](const boost::system::error_code& ec) {
      if (ec) return;
      self->force_close_all("drain deadline");
    });
  });
  for (auto& c : live) c->post_drain();
}

void MllpListener::Shared::force_close_all(const char* reason) {
  std::vector<std::shared_ptr<ConnectionBase>> live;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& [id, weak] : connections) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  if (!live.empty()) {
    log::warn("mllp.force_close", {{"source", options.log_name}, {"reason", reason},
                                   {"connections", std::to_string(live.size())}});
  }
  for (auto& c : live) c->post_force_close();
}

// ---- MllpListener ----------------------------------------------------------------------

MllpListener::MllpListener(asio::io_context& io, MllpListenerOptions options, FrameHandler on_frame)
    : shared_(std::make_shared<Shared>(io, std::move(options), std::move(on_frame))) {}

MllpListener::~MllpListener() {
  shared_->shut_down.store(true, std::memory_order_release);
  shared_->stop_accepting();
  shared_->force_close_all("listener destroyed");
}

void MllpListener::start() {
  Shared& s = *shared_;
  if (s.options.tls) {
    s.tls.emplace(asio::ssl::context::tls_server);
    load_server_tls(*s.tls, *s.options.tls);
  }
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(s.options.bind_address, ec);
  if (ec) throw std::runtime_error("mllp: bind address is not a numeric IP: " + s.options.bind_address);
  const tcp::endpoint endpoint(address, s.options.port);
  const std::string where = endpoint_text(endpoint);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    throw std::runtime_error("mllp: cannot listen on " + where + ": " + ec.message());
  }
  s.bound_port.store(s.acceptor.local_endpoint(ec).port(), std::memory_order_release);
  log::info("mllp.listening", {{"source", s.options.log_name},
                               {"address", s.options.bind_address},
                               {"port", std::to_string(s.bound_port.load())},
                               {"tls", s.options.tls ? "true" : "false"}});
  asio::post(s.acceptor_strand, [self = shared_] { self->do_accept(); });
}

std::uint16_t MllpListener::port() const { return shared_->bound_port.load(std::memory_order_acquire); }

void MllpListener::stop() { shared_->stop_accepting(); }

void MllpListener::close_idle_and_drain(std::chrono::steady_clock::time_point deadline,
                                        std::function<void()> on_drained) {
  shared_->drain(deadline, std::move(on_drained));
}

MllpListenerStats MllpListener::stats() const {
  const Shared& s = *shared_;
  constexpr auto relaxed = std::memory_order_relaxed;
  MllpListenerStats out;
  out.active_connections = s.active_connections.load(relaxed);
  out.connections_accepted = s.connections_accepted.load(relaxed);
  out.connections_rejected = s.connections_rejected.load(relaxed);
  out.frames_received = s.frames_received.load(relaxed);
  out.bytes_received = s.bytes_received.load(relaxed);
  out.replies_written = s.replies_written.load(relaxed);
  out.oversize_closes = s.oversize_closes.load(relaxed);
  out.idle_timeouts = s.idle_timeouts.load(relaxed);
  out.garbage_bytes_skipped = s.garbage_bytes_skipped.load(relaxed);
  out.tls_handshake_failures = s.tls_handshake_failures.load(relaxed);
  return out;
}

}  // namespace phrgate::mllp
