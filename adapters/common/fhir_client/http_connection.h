// Internal to phrgate_fhir_client: one keep-alive HTTP/1.1 connection (plain TCP or TLS with
// certificate and host name verification) driven by Beast on a private io_context, every
// step bounded by a deadline. FhirHttpClient pools these. Includes Beast: never include this
// header outside adapters/common/fhir_client/*.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "adapters/common/fhir_client/fhir_http_client.h"

namespace phrgate::fhir_client::detail {

struct Origin {
  bool tls = false;
  std::string host;
  std::string port;
  std::string key() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

struct ParsedUrl {
  Origin origin;
  std::string target;  // path and query, starting with '/'
};

std::optional<ParsedUrl> parse_url(std::string_view url);

struct Exchange {
  HttpResult result;
  bool keep_alive = false;    // the connection may be reused
  bool nothing_read = false;  // failed before any response byte: safe to retry on a new one
};

class HttpConnection {
 public:
  // Resolves, connects and (https) handshakes within `timeout`; nullptr with `error` set.
  // A set `cancel` flag aborts the operation within ~100 ms (error "cancelled").
  static std::unique_ptr<HttpConnection> open(const Origin& origin, boost::asio::ssl::context& tls,
                                              std::chrono::milliseconds timeout, std::string& error,
                                              const std::atomic<bool>* cancel = nullptr);
  virtual ~HttpConnection() = default;
  virtual Exchange exchange(std::string_view method, std::string_view target, const Headers& headers,
                            std::string_view body, std::chrono::milliseconds timeout,
                            std::size_t max_response_bytes, const std::atomic<bool>* cancel = nullptr) = 0;
  const Origin& origin() const { return origin_; }

 protected:
  Origin origin_;
};

}  // namespace phrgate::fhir_client::detail
