// Implementation of the pooled client connection (see http_connection.h). Each connection owns
// an io_context; every operation is started asynchronously with a deadline (expires_after) and
// the context is run until it completes, so a stalled peer costs at most the timeout.
// TLS: peer verification on, SNI set, host name (or IP address) checked against the certificate.
#include "adapters/common/fhir_client/http_connection.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cctype>

namespace phrgate::fhir_client::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<ParsedUrl> parse_url(std::string_view url) {
  ParsedUrl out;
  std::string_view rest;
  auto lower_starts = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(url[i])) != prefix[i]) return false;
    return true;
  };
  if (lower_starts("https://")) {
    out.origin.tls = true;
    rest = url.substr(8);
  } else if (lower_starts("http://")) {
    rest = url.substr(7);
  } else {
    return std::nullopt;
  }
  std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!out.target.empty() && out.target[0] == '?') out.target.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  if (authority[0] == '[') {  // IPv6 literal
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.origin.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] == ':') out.origin.port = std::string(after.substr(1));
  } else {
    std::size_t colon = authority.rfind(':');
    out.origin.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.origin.port = std::string(authority.substr(colon + 1));
  }
  if (out.origin.host.empty()) return std::nullopt;
  for (char& c : out.origin.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.origin.port.empty()) out.origin.port = out.origin.tls ? "443" : "80";
  for (char c : out.origin.port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return out;
}

namespace {

// Runs the context until the started operation completed. When `cancel` gets set, `close`
// aborts the operation (its handler then runs with operation_aborted).
template <class Close>
void run_until(asio::io_context& ioc, const std::atomic<bool>* cancel, Close close) {
  ioc.restart();
  if (!cancel) {
    ioc.run();
    return;
  }
  while (!ioc.stopped()) {
    ioc.run_for(std::chrono::milliseconds(100));
    if (cancel->load() && !ioc.stopped()) {
      close();
      ioc.run();
    }
  }
}

std::string error_text(const char* step, const beast::error_code& ec, const std::atomic<bool>* cancel = nullptr) {
  if (cancel && cancel->load()) return std::string(step) + " cancelled";
  if (ec == beast::error::timeout) return std::string(step) + " timed out";
  return std::string(step) + " failed: " + ec.message();
}

template <class Stream>
class ConnectionImpl final : public HttpConnection {
 public:
  ConnectionImpl(Origin origin, std::unique_ptr<asio::io_context> ioc, std::unique_ptr<Stream> stream)
      : ioc_(std::move(ioc)), stream_(std::move(stream)) {
    origin_ = std::move(origin);
  }
  ~ConnectionImpl() override {
    beast::error_code ignored;
    beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*stream_).close();
  }

  Exchange exchange(std::string_view method, std::string_view target, const Headers& headers,
                    std::string_view body, std::chrono::milliseconds timeout,
                    std::size_t max_response_bytes, const std::atomic<bool>* cancel) override {
    Exchange ex;
    http::request<http::string_body> req;
    req.method_string(beast::string_view(method.data(), method.size()));
    req.target(beast::string_view(target.data(), target.size()));
    req.version(11);
    bool default_port = origin_.port == (origin_.tls ? "443" : "80");
    req.set(http::field::host, default_port ? origin_.host : origin_.host + ":" + origin_.port);
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.body() = std::string(body);
      req.prepare_payload();
    }
    req.keep_alive(true);

    auto& lowest = beast::get_lowest_layer(*stream_);
    lowest.expires_after(timeout);
    beast::error_code ec;
    auto close = [&] { lowest.close(); };
    http::async_write(*stream_, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run_until(*ioc_, cancel, close);
    if (ec) {
      ex.nothing_read = !(cancel && cancel->load());
      ex.result.error = error_text("write", ec, cancel);
      return ex;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_bytes);
    parser.header_limit(64 * 1024);
    http::async_read(*stream_, buffer_, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run_until(*ioc_, cancel, close);
    if (ec) {
      ex.nothing_read = !(cancel && cancel->load()) && !parser.got_some() && buffer_.size() == 0 &&
                        (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                         ec == asio::error::eof || ec == asio::error::broken_pipe ||
                         ec == asio::ssl::error::stream_truncated);
      ex.result.error = error_text("read", ec, cancel);
      return ex;
    }
    lowest.expires_never();
    auto& res = parser.get();
    ex.result.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      ex.result.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    ex.result.body = std::move(res.body());
    ex.keep_alive = res.keep_alive();
    return ex;
  }

 private:
  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<Stream> stream_;
  beast::flat_buffer buffer_;
};

bool connect_tcp(asio::io_context& ioc, beast::tcp_stream& stream, const Origin& origin,
                 std::chrono::milliseconds timeout, std::string& error, const std::atomic<bool>* cancel) {
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  tcp::resolver::results_type results;
  resolver.async_resolve(origin.host, origin.port,
                         [&](beast::error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           results = std::move(r);
                         });
  run_until(ioc, cancel, [&] { resolver.cancel(); });
  if (ec) {
    error = error_text("resolve", ec, cancel);
    return false;
  }
  stream.expires_after(timeout);
  stream.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  run_until(ioc, cancel, [&] { stream.close(); });
  if (ec) {
    error = error_text("connect", ec, cancel);
    return false;
  }
  beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  return true;
}

}  // namespace

std::unique_ptr<HttpConnection> HttpConnection::open(const Origin& origin, asio::ssl::context& tls,
                                                     std::chrono::milliseconds timeout,
                                                     std::string& error, const std::atomic<bool>* cancel) {
  auto ioc = std::make_unique<asio::io_context>(1);
  if (!origin.tls) {
    auto stream = std::make_unique<beast::tcp_stream>(*ioc);
    if (!connect_tcp(*ioc, *stream, origin, timeout, error, cancel)) return nullptr;
    return std::make_unique<ConnectionImpl<beast::tcp_stream>>(origin, std::move(ioc), std::move(stream));
  }
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;
  auto stream = std::make_unique<TlsStream>(*ioc, tls);
  SSL* ssl = stream->native_handle();
  beast::error_code addr_ec;
  auto address = asio::ip::make_address(origin.host, addr_ec);
  if (addr_ec) {
    // A DNS name: SNI plus host name verification against the certificate's names.
    if (SSL_set_tlsext_host_name(ssl, origin.host.c_str()) != 1 || SSL_set1_host(ssl, origin.host.c_str()) != 1) {
      error = "cannot set the TLS host name";
      return nullptr;
    }
  } else {
    // An IP literal: no SNI; the certificate must list the address (SAN IP).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str()) != 1) {
      error = "cannot set the TLS peer address";
      return nullptr;
    }
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  if (!connect_tcp(*ioc, beast::get_lowest_layer(*stream), origin, timeout, error, cancel)) return nullptr;
  beast::get_lowest_layer(*stream).expires_after(timeout);
  beast::error_code ec;
  stream->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
  run_until(*ioc, cancel, [&] { beast::get_lowest_layer(*stream).close(); });
  if (ec) {
    long verify = SSL_get_verify_result(ssl);
    error = error_text("TLS handshake", ec, cancel);
    if (verify != X509_V_OK) error += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
    return nullptr;
  }
  return std::make_unique<ConnectionImpl<TlsStream>>(origin, std::move(ioc), std::move(stream));
}

}  // namespace phrgate::fhir_client::detail
