// Internal to phrgate_http: the state an HttpServer shares with its connections (options,
// routes, TLS context, acceptor, connection registry, counters) and the connection factory.
// Included only by http_server.cpp and http_connection.cpp; never by users of the server.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "gateway/admin/http_routing.h"
#include "gateway/admin/http_server.h"

namespace phrgate::http {

// One accepted socket; the Shared state tracks them so stop() can close idle ones.
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  virtual void run() = 0;             // starts the TLS handshake or the first read
  virtual void on_server_stop() = 0;  // any thread; hops onto the connection's strand
};

struct HttpServer::Shared : std::enable_shared_from_this<HttpServer::Shared> {
  Shared(boost::asio::io_context& io_context, HttpServerOptions opts)
      : io(io_context), options(std::move(opts)), acceptor(boost::asio::make_strand(io_context)),
        accept_retry_timer(acceptor.get_executor()) {}

  boost::asio::io_context& io;
  const HttpServerOptions options;
  detail::RouteTable routes;                    // frozen once started
  std::optional<boost::asio::ssl::context> ssl;  // set by start() when options.tls
  boost::asio::ip::tcp::acceptor acceptor;       // runs on its own strand
  boost::asio::steady_timer accept_retry_timer;  // same strand
  std::atomic<uint16_t> bound_port{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> accept_paused{false};  // at max_connections, no accept pending

  std::mutex connections_mutex;
  std::map<uint64_t, std::weak_ptr<ConnectionBase>> connections;
  uint64_t next_connection_id = 1;  // acceptor strand only

  std::atomic<uint64_t> requests_total{0};
  std::array<std::atomic<uint64_t>, 5> by_class{};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> handler_exceptions{0};
  std::atomic<uint64_t> read_timeouts{0};

  // The configured token whose hash matches the presented secret (constant-time
  // comparison against every configured hash), or nullptr.
  const ApiToken* authenticate(std::string_view presented) const;

  void count_status(int status) {
    requests_total.fetch_add(1, std::memory_order_relaxed);
    int cls = status / 100 - 1;
    if (cls >= 0 && cls < 5)
      by_class[static_cast<std::size_t>(cls)].fetch_add(1, std::memory_order_relaxed);
  }

  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void connection_closed(uint64_t id);  // called by each connection's destructor
};

// Creates the plain or TLS connection for an accepted socket (not yet running).
std::shared_ptr<ConnectionBase> make_connection(std::shared_ptr<HttpServer::Shared> server,
                                                uint64_t id, boost::asio::ip::tcp::socket socket);

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace phrgate::http
