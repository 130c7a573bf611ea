// Implementation of FhirHttpClient (see fhir_http_client.h): URL resolution, the keep-alive
// connection pool, OAuth2 token acquisition and caching (client credentials, SMART Backend
// Services), the 401-then-retry-once rule, Retry-After parsing and Bundle next links.
// The token is only ever sent to base_url's origin; error texts never carry response bodies.
#include "adapters/common/fhir_client/fhir_http_client.h"

#include <cctype>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>

#include <rapidjson/document.h>

#include "adapters/common/fhir_client/http_connection.h"
#include "adapters/common/fhir_client/smart_jwt.h"

namespace phrgate::fhir_client {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool has_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return true;
  return false;
}

}  // namespace

const std::string* HttpResult::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.first, name)) return &h.second;
  return nullptr;
}

struct FhirHttpClient::Impl {
  ClientOptions options;
  detail::ParsedUrl base;
  std::string base_prefix;  // "https://host:port/fhir/" (always ends with '/')
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::unique_ptr<JwtSigner> signer;

  std::atomic<bool> cancelled{false};
  std::mutex pool_mutex;
  std::map<std::string, std::vector<std::unique_ptr<detail::HttpConnection>>> idle;
  int64_t opened = 0;

  std::mutex token_mutex;  // guards the cached token and serializes token fetches
  std::string token;
  Clock::time_point token_valid_until{};
  int64_t fetched = 0;

  std::unique_ptr<detail::HttpConnection> take(const detail::Origin& origin, std::string& error, bool& reused) {
    {
      std::lock_guard lock(pool_mutex);
      auto& list = idle[origin.key()];
      if (!list.empty()) {
        auto c = std::move(list.back());
        list.pop_back();
        reused = true;
        return c;
      }
    }
    reused = false;
    auto c = detail::HttpConnection::open(origin, tls, options.connect_timeout, error, &cancelled);
    if (c) {
      std::lock_guard lock(pool_mutex);
      ++opened;
    }
    return c;
  }

  void give_back(std::unique_ptr<detail::HttpConnection> c) {
    std::lock_guard lock(pool_mutex);
    auto& list = idle[c->origin().key()];
    if (list.size() < options.max_idle_connections) list.push_back(std::move(c));
  }

  // One exchange on a pooled connection; a stale keep-alive connection is replaced once.
  HttpResult send(const detail::ParsedUrl& url, std::string_view method, const Headers& headers,
                  std::string_view body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (cancelled.load()) {
        HttpResult r;
        r.error = "cancelled";
        return r;
      }
      std::string error;
      bool reused = false;
      auto conn = take(url.origin, error, reused);
      if (!conn) {
        HttpResult r;
        r.error = error;
        return r;
      }
      auto ex = conn->exchange(method, url.target, headers, body, options.request_timeout,
                               options.max_response_bytes, &cancelled);
      if (ex.result.status == 0) {
        if (reused && ex.nothing_read) continue;  // the server closed an idle connection
        return std::move(ex.result);
      }
      if (ex.keep_alive) give_back(std::move(conn));
      if (const std::string* ra = ex.result.header("retry-after")) ex.result.retry_after = parse_retry_after(*ra);
      return std::move(ex.result);
    }
    HttpResult r;
    r.error = "connection closed by the server";
    return r;
  }

  // The access token to send, fetching one when none is cached; empty + error on failure.
  std::string access_token(bool force_refresh, std::string& error) {
    const AuthConfig& auth = options.auth;
    if (auth.kind == AuthKind::None) return {};
    if (auth.kind == AuthKind::Bearer) return auth.token;
    std::lock_guard lock(token_mutex);
    if (!force_refresh && !token.empty() && Clock::now() < token_valid_until) return token;
    token.clear();
    auto url = detail::parse_url(auth.token_url);
    if (!url) {
      error = "invalid token_url";
      return {};
    }
    std::string form = "grant_type=client_credentials";
    Headers headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"Accept", "application/json"},
                       {"User-Agent", options.user_agent}};
    if (!auth.scope.empty()) form += "&scope=" + form_encode(auth.scope);
    if (auth.kind == AuthKind::ClientCredentials) {
      if (auth.credentials_in_body) {
        form += "&client_id=" + form_encode(auth.client_id) + "&client_secret=" + form_encode(auth.client_secret);
      } else {
        headers.emplace_back("Authorization", "Basic " + base64_encode(form_encode(auth.client_id) + ":" +
                                                                       form_encode(auth.client_secret)));
      }
    } else {
      std::string assertion;
      try {
        assertion = make_client_assertion(*signer, auth.client_id, auth.token_url, auth.key_id,
                                          std::chrono::system_clock::now());
      } catch (const std::exception& e) {
        error = std::string("client assertion: ") + e.what();
        return {};
      }
      form += "&client_assertion_type=" + form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
              "&client_assertion=" + assertion;
    }
    HttpResult r = send(*url, "POST", headers, form);
    if (!r.ok()) {
      error = r.status == 0 ? "token request: " + r.error
                            : "token request: HTTP " + std::to_string(r.status);
      return {};
    }
    rapidjson::Document doc;
    doc.Parse(r.body.data(), r.body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("access_token") || !doc["access_token"].IsString()) {
      error = "token response without access_token";
      return {};
    }
    token = doc["access_token"].GetString();
    int64_t expires_in = 300;
    if (doc.HasMember("expires_in") && doc["expires_in"].IsInt64()) expires_in = doc["expires_in"].GetInt64();
    // Refresh 60 s before expiry; for short-lived tokens halfway.
    int64_t keep = expires_in > 120 ? expires_in - 60 : expires_in / 2;
    token_valid_until = Clock::now() + std::chrono::seconds(keep);
    ++fetched;
    return token;
  }

  void drop_token() {
    std::lock_guard lock(token_mutex);
    token.clear();
  }
};

FhirHttpClient::FhirHttpClient(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  auto& o = impl_->options;
  auto base = detail::parse_url(o.base_url);
  if (!base) throw std::runtime_error("fhir client: base_url must be an http:// or https:// URL");
  impl_->base = *base;
  std::string path = base->target.substr(0, base->target.find('?'));
  if (path.empty() || path.back() != '/') path += '/';
  impl_->base_prefix = (base->origin.tls ? "https://" : "http://") + base->origin.host + ":" + base->origin.port + path;

  impl_->tls.set_verify_mode(asio::ssl::verify_peer);
  boost::system::error_code ec;
  impl_->tls.set_default_verify_paths(ec);
  if (!o.ca_file.empty()) {
    impl_->tls.load_verify_file(o.ca_file, ec);
    if (ec) throw std::runtime_error("fhir client: cannot load ca_file " + o.ca_file);
  }
  const AuthConfig& auth = o.auth;
  if (auth.kind == AuthKind::ClientCredentials || auth.kind == AuthKind::SmartBackend) {
    if (!detail::parse_url(auth.token_url)) throw std::runtime_error("fhir client: token_url must be an http(s) URL");
    if (auth.client_id.empty()) throw std::runtime_error("fhir client: client_id is required");
  }
  if (auth.kind == AuthKind::SmartBackend) impl_->signer = std::make_unique<JwtSigner>(auth.private_key_file, auth.alg);
}

FhirHttpClient::~FhirHttpClient() = default;

const ClientOptions& FhirHttpClient::options() const { return impl_->options; }

std::string FhirHttpClient::resolve(std::string_view url) const {
  if (detail::parse_url(url)) return std::string(url);
  while (!url.empty() && url.front() == '/') url.remove_prefix(1);
  std::string out = impl_->base_prefix;
  if (url.empty()) {
    out.pop_back();  // base_url itself, without the trailing '/'
    return out;
  }
  if (url.front() == '?') out.pop_back();
  out += url;
  return out;
}

HttpResult FhirHttpClient::request(std::string_view method, std::string_view url, std::string_view body,
                                   const Headers& extra_headers) {
  auto parsed = detail::parse_url(resolve(url));
  if (!parsed) {
    HttpResult r;
    r.error = "invalid URL";
    return r;
  }
  Headers headers;
  if (!has_header(extra_headers, "accept")) headers.emplace_back("Accept", "application/fhir+json");
  if (!body.empty() && !has_header(extra_headers, "content-type"))
    headers.emplace_back("Content-Type", "application/fhir+json");
  if (!has_header(extra_headers, "user-agent")) headers.emplace_back("User-Agent", impl_->options.user_agent);
  for (const auto& h : extra_headers) headers.push_back(h);

  bool send_token = impl_->options.auth.kind != AuthKind::None &&
                    parsed->origin.key() == impl_->base.origin.key();
  for (int attempt = 0;; ++attempt) {
    Headers with_auth = headers;
    if (send_token) {
      std::string error;
      std::string token = impl_->access_token(attempt > 0, error);
      if (token.empty()) {
        HttpResult r;
        r.error = error.empty() ? "no access token" : error;
        return r;
      }
      with_auth.emplace_back("Authorization", "Bearer " + token);
    }
    HttpResult r = impl_->send(*parsed, method, with_auth, body);
    if (r.status == 401 && send_token && attempt == 0 && impl_->options.auth.kind != AuthKind::Bearer) {
      impl_->drop_token();
      continue;
    }
    return r;
  }
}

int64_t FhirHttpClient::tokens_fetched() const {
  std::lock_guard lock(impl_->token_mutex);
  return impl_->fetched;
}

int64_t FhirHttpClient::connections_opened() const {
  std::lock_guard lock(impl_->pool_mutex);
  return impl_->opened;
}

void FhirHttpClient::cancel() { impl_->cancelled.store(true); }

void FhirHttpClient::reset() {
  {
    std::lock_guard lock(impl_->pool_mutex);
    impl_->idle.clear();
  }
  impl_->drop_token();
}

std::optional<std::string> bundle_next_link(std::string_view bundle_json) {
  rapidjson::Document doc;
  doc.Parse(bundle_json.data(), bundle_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto link = doc.FindMember("link");
  if (link == doc.MemberEnd() || !link->value.IsArray()) return std::nullopt;
  for (const auto& l : link->value.GetArray()) {
    if (!l.IsObject()) continue;
    auto rel = l.FindMember("relation");
    auto url = l.FindMember("url");
    if (rel != l.MemberEnd() && url != l.MemberEnd() && rel->value.IsString() && url->value.IsString() &&
        std::string_view(rel->value.GetString()) == "next")
      return std::string(url->value.GetString(), url->value.GetStringLength());
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (value.size() > 9) return std::chrono::seconds(999999999);
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto delta = std::chrono::duration_cast<std::chrono::seconds>(when - now);
  return delta.count() < 0 ? std::chrono::seconds(0) : delta;
}

}  // namespace phrgate::fhir_client
