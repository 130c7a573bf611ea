// HttpServer's public face: construction and token checks, route registration, start (TLS
// files, bind), the accept loop with its max_connections pause, graceful stop, counters and
// the OperationOutcome helper. Per-connection work lives in http_connection.cpp. Never logs
// tokens or request data.
#include "gateway/admin/http_server.h"

#include <stdexcept>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <openssl/crypto.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "gateway/admin/http_server_internal.h"
#include "gateway/core/log.h"
#include "gateway/core/resource_id.h"

namespace phrgate::http {

namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

Response operation_outcome(int status, std::string_view code, std::string_view diagnostics) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("resourceType");
  w.String("OperationOutcome");
  w.Key("issue");
  w.StartArray();
  w.StartObject();
  w.Key("severity");
  w.String("error");
  w.Key("code");
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("diagnostics");
  w.String(diagnostics.data(), static_cast<rapidjson::SizeType>(diagnostics.size()));
  w.EndObject();
  w.EndArray();
  w.EndObject();
  Response r;
  r.status = status;
  r.content_type = "application/fhir+json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

namespace {

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

}  // namespace

const ApiToken* HttpServer::Shared::authenticate(std::string_view presented) const {
  std::string hash = sha256_hex(presented);
  const ApiToken* found = nullptr;
  for (const ApiToken& t : options.tokens)
    if (CRYPTO_memcmp(hash.data(), t.sha256_hex.data(), hash.size()) == 0 && !found) found = &t;
  return found;
}

void HttpServer::Shared::do_accept() {
  if (stopping.load()) return;
  if (connections_active.load() >= options.max_connections) {
    accept_paused.store(true);
    // A connection may have closed between the check and the flag; if nobody took the flag
    // back, resume here, otherwise connection_closed() has posted do_accept already.
    if (connections_active.load() >= options.max_connections || !accept_paused.exchange(false))
      return;
  }
  acceptor.async_accept(asio::make_strand(io),
                        [self = shared_from_this()](error_code ec, tcp::socket socket) {
                          self->on_accept(ec, std::move(socket));
                        });
}

void HttpServer::Shared::on_accept(error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || stopping.load()) return;
    log::warn("http_accept_failed", {{"error", ec.message()}});
    accept_retry_timer.expires_after(kAcceptRetryDelay);
    accept_retry_timer.async_wait([self = shared_from_this()](error_code wec) {
      if (!wec) self->do_accept();
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  uint64_t id = next_connection_id++;
  connections_accepted.fetch_add(1);
  connections_active.fetch_add(1);  // the connection's destructor gives it back
  std::shared_ptr<ConnectionBase> base = make_connection(shared_from_this(), id, std::move(socket));
  {
    std::lock_guard lock(connections_mutex);
    connections.emplace(id, base);
  }
  base->run();
  if (stopping.load()) base->on_server_stop();  // raced with stop(): close it if idle
  do_accept();
}

void HttpServer::Shared::connection_closed(uint64_t id) {
  {
    std::lock_guard lock(connections_mutex);
    connections.erase(id);
  }
  connections_active.fetch_sub(1);
  if (!stopping.load() && accept_paused.exchange(false))
    asio::post(acceptor.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

HttpServer::HttpServer(boost::asio::io_context& io, HttpServerOptions options) {
  for (ApiToken& t : options.tokens) {
    if (!is_hex64(t.sha256_hex))
      throw std::invalid_argument("http server: token '" + t.name +
                                  "' needs a 64-hex-digit SHA-256 hash");
    t.sha256_hex = ascii_lower(t.sha256_hex);
  }
  shared_ = std::make_shared<Shared>(io, std::move(options));
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(std::string method, std::string path_pattern, Role required_role,
                       Handler handler) {
  if (shared_->started.load()) throw std::logic_error("http server: route() after start()");
  shared_->routes.add(std::move(method), std::move(path_pattern), required_role, std::move(handler));
}

void HttpServer::start() {
  Shared& s = *shared_;
  if (s.started.exchange(true)) throw std::logic_error("http server: start() called twice");
  try {
    if (s.options.tls) {
      s.ssl.emplace(asio::ssl::context::tls_server);
      s.ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
      s.ssl->use_certificate_chain_file(s.options.tls->cert_file);
      s.ssl->use_private_key_file(s.options.tls->key_file, asio::ssl::context::pem);
    }
    tcp::endpoint ep(asio::ip::make_address(s.options.bind_address), s.options.port);
    s.acceptor.open(ep.protocol());
    s.acceptor.set_option(asio::socket_base::reuse_address(true));
    s.acceptor.bind(ep);
    s.acceptor.listen(asio::socket_base::max_listen_connections);
    s.bound_port.store(s.acceptor.local_endpoint().port());
  } catch (const std::exception& e) {
    error_code ignored;
    s.acceptor.close(ignored);
    s.ssl.reset();
    s.started.store(false);  // the caller may fix the cause and call start() again
    throw std::runtime_error(std::string("http server: cannot start on ") + s.options.bind_address +
                             ":" + std::to_string(s.options.port) + ": " + e.what());
  }
  log::info("http_listening", {{"address", s.options.bind_address},
                               {"port", std::to_string(s.bound_port.load())},
                               {"tls", s.options.tls ? "true" : "false"}});
  asio::post(s.acceptor.get_executor(), [self = shared_] { self->do_accept(); });
}

uint16_t HttpServer::port() const { return shared_->bound_port.load(); }

void HttpServer::stop() {
  if (shared_->stopping.exchange(true)) return;
  asio::post(shared_->acceptor.get_executor(), [self = shared_] {
    error_code ignored;
    self->acceptor.close(ignored);
    self->accept_retry_timer.cancel();
  });
  std::vector<std::shared_ptr<ConnectionBase>> live;
  {
    std::lock_guard lock(shared_->connections_mutex);
    for (auto& [id, weak] : shared_->connections)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) c->on_server_stop();
}

HttpCounters HttpServer::counters() const {
  const Shared& s = *shared_;
  HttpCounters c;
  c.requests_total = s.requests_total.load();
  c.status_1xx = s.by_class[0].load();
  c.status_2xx = s.by_class[1].load();
  c.status_3xx = s.by_class[2].load();
  c.status_4xx = s.by_class[3].load();
  c.status_5xx = s.by_class[4].load();
  c.connections_accepted = s.connections_accepted.load();
  c.connections_active = s.connections_active.load();
  c.handler_exceptions = s.handler_exceptions.load();
  c.read_timeouts = s.read_timeouts.load();
  return c;
}

}  // namespace phrgate::http

