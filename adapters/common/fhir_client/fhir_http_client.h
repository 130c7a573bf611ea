// FhirHttpClient: a small blocking HTTP/1.1 client for FHIR REST servers, over http:// and
// https:// (certificate and host name verification always on), with OAuth2 authentication
// (static bearer token, client credentials, SMART Backend Services). Used by the phr_fhir
// sink (pushing transaction Bundles) and by the FHIR polling source (GET with paging).
// Thread-safe: concurrent request() calls use separate pooled keep-alive connections.
// Never logs or returns bodies in `error` texts (they may hold PHI); never sends the access
// token to an origin other than base_url's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phrgate::fhir_client {

using Headers = std::vector<std::pair<std::string, std::string>>;

enum class AuthKind { None, Bearer, ClientCredentials, SmartBackend };
enum class JwtAlg { RS384, ES384 };

struct AuthConfig {
  AuthKind kind = AuthKind::None;
  std::string token;          // Bearer: the static access token
  std::string token_url;      // ClientCredentials, SmartBackend: the token endpoint
  std::string client_id;
  std::string client_secret;  // ClientCredentials
  bool credentials_in_body = false;  // ClientCredentials: false = HTTP Basic (the default)
  std::string scope;          // optional, e.g. "system/*.write"
  std::string private_key_file;  // SmartBackend: PEM private key (RSA, or EC P-384)
  std::string key_id;            // SmartBackend: the JWT "kid" header
  JwtAlg alg = JwtAlg::RS384;
};

struct ClientOptions {
  std::string base_url;  // "https://phr.example.org/fhir" (no trailing slash needed)
  std::string ca_file;   // extra trusted CAs (PEM), added to the system's
  std::chrono::milliseconds connect_timeout{5000};  // resolve + TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{30000};  // write request + read whole response
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  std::size_t max_idle_connections = 8;  // keep-alive pool size
  std::string user_agent = "phrgate";
  AuthConfig auth;
};

struct HttpResult {
  int status = 0;  // HTTP status; 0 when no response was received (see error)
  std::string body;
  Headers headers;  // names lower-cased
  std::optional<std::chrono::seconds> retry_after;  // from Retry-After (seconds or HTTP date)
  std::string error;  // transport/auth failure, operator-readable, no PHI; empty on a response

  bool ok() const { return status >= 200 && status < 300; }
  // First header with this (case-insensitive) name, or nullptr.
  const std::string* header(std::string_view name) const;
};

class FhirHttpClient {
 public:
  // Throws std::runtime_error for an unusable configuration (bad base_url, unreadable
  // ca_file or private key). Opens no connection yet.
  explicit FhirHttpClient(ClientOptions options);
  ~FhirHttpClient();
  FhirHttpClient(const FhirHttpClient&) = delete;
  FhirHttpClient& operator=(const FhirHttpClient&) = delete;

  // One request. `url` is absolute ("https://host/fhir/Patient?_count=50", e.g. a Bundle's
  // next link) or relative to base_url ("Patient?identifier=..." or "/Patient/1").
  // Adds Accept/Content-Type "application/fhir+json" unless given in extra_headers, and the
  // Authorization header when the URL's origin is base_url's. A 401 drops the cached token,
  // fetches a new one and retries once. Never throws for network or HTTP errors.
  HttpResult request(std::string_view method, std::string_view url, std::string_view body = {},
                     const Headers& extra_headers = {});
  HttpResult get(std::string_view url, const Headers& extra_headers = {}) {
    return request("GET", url, {}, extra_headers);
  }
  // POST a Bundle of type transaction/batch to base_url.
  HttpResult post_bundle(std::string_view bundle_json) { return request("POST", "", bundle_json); }

  // Absolute form of `url` (relative ones resolved against base_url).
  std::string resolve(std::string_view url) const;
  const ClientOptions& options() const;
  // Counters for status pages and tests.
  int64_t tokens_fetched() const;
  int64_t connections_opened() const;
  // Closes idle connections and forgets the cached token.
  void reset();
  // For shutdown: aborts requests in flight within ~100 ms and fails later ones at once
  // (status 0, error "... cancelled"). Irreversible. Thread-safe.
  void cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `next` link of a searchset Bundle (absolute URL), if any. Does not throw on bad JSON.
std::optional<std::string> bundle_next_link(std::string_view bundle_json);

// Parses a Retry-After value: delta-seconds or an HTTP-date (relative to `now`).
std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace phrgate::fhir_client
