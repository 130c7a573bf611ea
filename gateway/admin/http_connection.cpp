// One HTTP/1.1 connection of HttpServer, plain or TLS, on its own strand: reads a request
// under deadlines and size limits, routes it, checks the bearer token, runs the handler and
// writes the response; keeps the connection alive or closes it gracefully. Never logs query
// strings, bodies, header values or tokens; error bodies never echo request data.
#include <chrono>
#include <stdexcept>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "gateway/admin/http_server_internal.h"
#include "gateway/core/log.h"

namespace phrgate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr std::chrono::milliseconds kLingerTimeout{2'000};
constexpr std::chrono::milliseconds kTlsShutdownTimeout{1'000};

// The token from "Bearer <token>", or empty.
std::string_view bearer_token(const std::string* header) {
  if (!header) return {};
  std::string_view v = *header;
  if (v.size() < 7 || !ascii_iequals(v.substr(0, 6), "bearer") || (v[6] != ' ' && v[6] != '\t'))
    return {};
  v.remove_prefix(7);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

template <class Stream>
class Connection : public ConnectionBase,
                   public std::enable_shared_from_this<Connection<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  enum class State { Starting, Idle, Reading, Handling, Writing, Closing, Closed };

 public:
  template <class... StreamArgs>
  Connection(std::shared_ptr<HttpServer::Shared> server, uint64_t id, std::string peer,
             StreamArgs&&... args)
      : server_(std::move(server)), id_(id), peer_(std::move(peer)),
        stream_(std::forward<StreamArgs>(args)...) {}

  ~Connection() override { server_->connection_closed(id_); }

  void run() override {
    asio::dispatch(lowest().get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->lowest().expires_after(self->opts().read_timeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server,
                                      [self](beast::error_code ec) { self->on_handshake(ec); });
      } else {
        self->read_next();
      }
    });
  }

  void on_server_stop() override {
    asio::post(lowest().get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == State::Idle || self->state_ == State::Starting) self->close_now();
    });
  }

 private:
  const HttpServerOptions& opts() const { return server_->options; }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      log::debug("http_tls_handshake_failed", {{"peer", peer_}, {"error", ec.message()}});
      return close_now();
    }
    read_next();
  }

  // Waits for the first byte of the next request (idle deadline), then reads it whole.
  void read_next() {
    if (server_->stopping.load()) return close_now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(opts().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(opts().max_body_bytes);
    req_ = Request{};
    req_.peer = peer_;
    route_ = nullptr;
    keep_alive_ = false;
    if (buffer_.size() > 0) return begin_request();  // pipelined bytes already here
    state_ = State::Idle;
    lowest().expires_after(first_request_ ? opts().read_timeout : opts().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->on_first_bytes(ec, n);
                            });
  }

  void on_first_bytes(beast::error_code ec, std::size_t n) {
    if (ec) {
      if (ec == beast::error::timeout && first_request_) server_->read_timeouts.fetch_add(1);
      return close_now();
    }
    buffer_.commit(n);
    begin_request();
  }

  void begin_request() {
    state_ = State::Reading;
    started_at_ = std::chrono::steady_clock::now();
    lowest().expires_after(opts().read_timeout);  // one deadline for header and body
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto& head = parser_->get();
    req_.method = std::string(head.method_string());
    req_.target = std::string(head.target());
    for (const auto& field : head) {
      auto name = field.name_string();
      auto value = field.value();
      auto [it, inserted] = req_.headers.try_emplace(ascii_lower({name.data(), name.size()}),
                                                     value.data(), value.size());
      if (!inserted) (it->second += ", ").append(value.data(), value.size());
    }
    keep_alive_ = parser_->keep_alive();
    body_pending_ = !parser_->is_done();

    std::string_view target = req_.target;
    if (!detail::parse_target(target, req_.path, req_.query))
      return respond(operation_outcome(400, "invalid", "Malformed request target"));
    detail::RouteTable::Match match =
        server_->routes.match(req_.method, target.substr(0, target.find('?')));
    switch (match.outcome) {
      case detail::RouteTable::Outcome::BadPath:
        return respond(operation_outcome(400, "invalid", "Malformed request path"));
      case detail::RouteTable::Outcome::NotFound:
        return respond(operation_outcome(404, "not-found", "No such endpoint"));
      case detail::RouteTable::Outcome::MethodNotAllowed: {
        Response r = operation_outcome(405, "not-supported", "Method not allowed on this endpoint");
        r.headers.emplace_back("Allow", match.allow);
        return respond(std::move(r));
      }
      case detail::RouteTable::Outcome::Found:
        break;
    }
    route_ = match.route;
    req_.path_params = std::move(match.params);

    if (route_->required_role != Role::None) {
      std::string_view token = bearer_token(req_.header("authorization"));
      const ApiToken* who = token.empty() ? nullptr : server_->authenticate(token);
      if (!who) {
        Response r = operation_outcome(401, "login", "A valid bearer token is required");
        r.headers.emplace_back("WWW-Authenticate",
                               token.empty() ? "Bearer realm=\"phrgate\""
                                             : "Bearer realm=\"phrgate\", error=\"invalid_token\"");
        return respond(std::move(r));
      }
      req_.principal = who->name;
      if (!role_allows(who->role, route_->required_role))
        return respond(operation_outcome(403, "forbidden", "The token's role does not allow this"));
    }

    if (auto length = parser_->content_length(); length && *length > opts().max_body_bytes)
      return respond(operation_outcome(413, "too-long", "Request body exceeds the size limit"));
    if (!body_pending_) return dispatch();

    const std::string* expect = req_.header("expect");
    if (expect && ascii_iequals(*expect, "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      return bhttp::async_write(stream_, *cont,
                                [self = this->shared_from_this(), cont](beast::error_code wec, std::size_t) {
                                  if (wec) return self->close_now();
                                  self->read_body();
                                });
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->body_pending_ = false;
                        self->req_.body = std::move(self->parser_->get().body());
                        self->dispatch();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      server_->read_timeouts.fetch_add(1);
      log::debug("http_read_timeout", {{"peer", peer_}});
      return close_now();  // the stream has closed the socket already
    }
    bool parse_error = ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                       ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
    if (!parse_error) return close_now();  // eof, reset, aborted, TLS errors: nobody to answer
    body_pending_ = true;  // whatever the client sends next is unread: linger before closing
    if (ec == bhttp::error::body_limit)
      return respond(operation_outcome(413, "too-long", "Request body exceeds the size limit"));
    if (ec == bhttp::error::header_limit)
      return respond(operation_outcome(431, "too-long", "Request header exceeds the size limit"));
    respond(operation_outcome(400, "structure", "Malformed HTTP request"));
  }

  void dispatch() {
    state_ = State::Handling;
    Response res;
    try {
      res = route_->handler(req_);
    } catch (const std::exception&) {
      // The exception text is not logged: it may quote request data.
      server_->handler_exceptions.fetch_add(1);
      log::error("http_handler_exception", {{"method", req_.method}, {"route", route_->pattern}});
      res = operation_outcome(500, "exception", "Internal error");
    } catch (...) {
      server_->handler_exceptions.fetch_add(1);
      log::error("http_handler_exception", {{"method", req_.method}, {"route", route_->pattern}});
      res = operation_outcome(500, "exception", "Internal error");
    }
    respond(std::move(res));
  }

  // Sends `r`. The connection closes afterwards when the client asked, the server is
  // stopping, or part of the request was left unread (then it drains briefly first).
  void respond(Response r) {
    state_ = State::Writing;
    if (r.status < 100 || r.status > 599) r.status = 500;
    if (r.status < 200 || r.status == 204 || r.status == 304) r.body.clear();
    bool unread = body_pending_;
    close_after_write_ = unread || !keep_alive_ || server_->stopping.load();
    linger_after_write_ = unread;

    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(bhttp::field::server, "phrgate");
    res->set(bhttp::field::cache_control, "no-store");
    if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->insert(name, value);
    res->body() = std::move(r.body);
    res->keep_alive(!close_after_write_);
    res->prepare_payload();

    server_->count_status(r.status);
    if (log::enabled(log::Level::Debug)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started_at_).count();
      log::debug("http_request", {{"method", req_.method}, {"path", req_.path},
                                  {"status", std::to_string(r.status)},
                                  {"duration_us", std::to_string(us)},
                                  {"principal", req_.principal}, {"peer", peer_}});
    }

    lowest().expires_after(opts().write_timeout);
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                         self->on_write(ec);
                       });
  }

  void on_write(beast::error_code ec) {
    if (ec) return close_now();
    if (!close_after_write_) {
      first_request_ = false;
      return read_next();
    }
    state_ = State::Closing;
    if (linger_after_write_) return linger_close();
    if constexpr (kTls) {
      lowest().expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      close_now();
    }
  }

  // The client may still be sending a body we refused: half-close and discard its bytes for
  // a moment, so that closing does not reset the connection before it reads our answer.
  void linger_close() {
    if constexpr (!kTls) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    lowest().expires_after(std::min<std::chrono::milliseconds>(kLingerTimeout, opts().read_timeout));
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close_now();
                              self->drain();
                            });
  }

  void close_now() {
    state_ = State::Closed;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  std::shared_ptr<HttpServer::Shared> server_;
  const uint64_t id_;
  const std::string peer_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request req_;
  const detail::RouteTable::Route* route_ = nullptr;
  State state_ = State::Starting;
  bool first_request_ = true;
  bool keep_alive_ = false;
  bool body_pending_ = false;
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();
  std::array<char, 8192> drain_buffer_{};
};


std::string endpoint_text(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}


}  // namespace

std::shared_ptr<ConnectionBase> make_connection(std::shared_ptr<HttpServer::Shared> server,
                                                uint64_t id, tcp::socket socket) {
  std::string peer = endpoint_text(socket);
  if (server->ssl) {
    asio::ssl::context& ctx = *server->ssl;
    return std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
        std::move(server), id, std::move(peer), std::move(socket), ctx);
  }
  return std::make_shared<Connection<beast::tcp_stream>>(std::move(server), id, std::move(peer),
                                                         std::move(socket));
}

}  // namespace phrgate::http
