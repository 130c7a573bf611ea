// A small synchronous HTTP/1.1 client (plain or TLS) for tests, tools and benchmarks that
// talk to phrgate's HTTP port. Beast stays inside http_client.cpp. Not for production use:
// with tls and an empty ca_file it does not verify the server certificate.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phrgate::testing {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;
  HttpHeaders headers;  // as received, in order
  std::string body;
  bool keep_alive = false;  // the server left the connection open

  // First value of header `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

// One request on a fresh connection (closed afterwards). Throws std::runtime_error when the
// connection, the TLS handshake, the exchange or the 10 s deadline fails. With tls, a
// non-empty ca_file verifies the server certificate against it (and the host name).
HttpResult http_request(const std::string& host, uint16_t port, std::string method,
                        std::string target, std::string body = {}, HttpHeaders headers = {},
                        bool tls = false, std::string ca_file = {});

// A persistent connection for several requests in a row (keep-alive tests, benchmarks).
class HttpConnection {
 public:
  // Connects (and handshakes with tls); throws std::runtime_error on failure.
  HttpConnection(const std::string& host, uint16_t port, bool tls = false,
                 std::string ca_file = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads its response; throws std::runtime_error on failure
  // (including the server having closed the connection).
  HttpResult request(std::string method, std::string target, std::string body = {},
                     const HttpHeaders& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace phrgate::testing
