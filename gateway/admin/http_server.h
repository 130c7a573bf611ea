// phrgate's HTTP/1.1 server for the admin/FHIR port: routing with {param} segments, bearer
// token roles, size limits and timeouts, optional TLS. The daemon and the FHIR read API
// register routes on it; handlers see only the plain types of http_types.h. Beast and Asio
// stay inside http_server.cpp. It must never log query strings, bodies or tokens (PHI, secrets).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/admin/http_types.h"

namespace boost::asio {
class io_context;
}

namespace phrgate::http {

// Access levels, each including the ones below it: Admin ⊇ Operator ⊇ Reader.
// Role::None on a route means public (no token needed, e.g. /healthz, /metrics).
// Role::Ingest stands apart: a feeding system's token (POST /ingest/..., POST /fhir) that may
// submit records and nothing else; on ingest routes Admin is accepted too.
// Role::Phr stands apart likewise: the PHR vendor's backend acting for its patients, which
// may only redeem identity claim codes (so no hospital feed's token can claim identifiers).
enum class Role { None = 0, Reader = 1, Operator = 2, Admin = 3, Ingest = 4, Phr = 5 };

// True when a token of role `who` may call a route requiring `required`.
constexpr bool role_allows(Role who, Role required) {
  if (required == Role::None) return true;
  if (required == Role::Ingest || required == Role::Phr) return who == required || who == Role::Admin;
  return who != Role::Ingest && who != Role::Phr && who >= required;
}

// A configured API token: only the SHA-256 (64 hex chars) of the secret is kept.
struct ApiToken {
  std::string name;        // principal passed to handlers and written to logs
  std::string sha256_hex;  // phrgate::sha256_hex(secret)
  Role role = Role::Reader;
};

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
};

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;                      // 0: ephemeral; HttpServer::port() tells which
  std::optional<TlsFiles> tls;            // absent: plain HTTP
  std::size_t max_body_bytes = 16u << 20; // larger bodies get 413
  std::size_t max_header_bytes = 16u << 10;  // request line + headers; larger get 431
  // Deadline for receiving one whole request, from its first byte (or from the TLS
  // handshake / connection start for the first request) to its last.
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};  // deadline for sending one response
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  std::size_t max_connections = 256;  // at the limit, accepting pauses until one closes
  std::vector<ApiToken> tokens;
};

// Monotonic counters since start; readable from any thread.
struct HttpCounters {
  uint64_t requests_total = 0;
  uint64_t status_1xx = 0, status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;  // current value, not monotonic
  uint64_t handler_exceptions = 0;
  uint64_t read_timeouts = 0;
};

class HttpServer {
 public:
  // Throws std::invalid_argument if a token hash is not 64 hex characters.
  HttpServer(boost::asio::io_context& io, HttpServerOptions options);
  ~HttpServer();  // calls stop(); outstanding connections finish on the io_context
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for `method` on `path_pattern`: literal segments and {name}
  // segments, e.g. "/fhir/{type}/{id}", "/fhir/Patient/{id}/$everything". When several
  // patterns match a path, the one with a literal at the first differing segment wins.
  // Must be called before start(). Throws std::invalid_argument on a malformed pattern or
  // a duplicate (method, pattern).
  void route(std::string method, std::string path_pattern, Role required_role, Handler handler);

  // Loads TLS files, binds and starts accepting. Throws std::runtime_error on failure.
  void start();
  // The bound port (the ephemeral one when options.port was 0); 0 before start().
  uint16_t port() const;
  // Graceful and asynchronous, callable from any thread: stop accepting, let requests
  // being read or answered finish (their responses carry Connection: close), close idle
  // keep-alive connections. The io_context runs out of work from this server once done.
  void stop();

  HttpCounters counters() const;

  struct Shared;  // implementation state, defined in http_server.cpp

 private:
  std::shared_ptr<Shared> shared_;
};

// A FHIR OperationOutcome response with one error issue. `code` is a FHIR issue-type code
// ("not-found", "login", "forbidden", "invalid", "exception", ...). `diagnostics` must not
// contain PHI: never echo identifiers or names from the request.
Response operation_outcome(int status, std::string_view code, std::string_view diagnostics);

}  // namespace phrgate::http
