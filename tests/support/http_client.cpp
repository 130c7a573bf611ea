// Synchronous HTTP/1.1 client for tests and tools (see http_client.h). Each step runs as an
// asynchronous Beast operation on a private io_context so that a deadline applies to it; a
// hung server makes a test fail with an exception instead of hanging it.
#include "tests/support/http_client.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

namespace phrgate::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

const std::string* HttpResult::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return &v;
  }
  return nullptr;
}

struct HttpConnection::Impl {
  asio::io_context io;
  std::optional<asio::ssl::context> ssl_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::string host_header;
  std::chrono::milliseconds timeout;

  beast::tcp_stream& lowest() {
    return secure ? beast::get_lowest_layer(*secure) : *plain;
  }

  // Starts an asynchronous operation via `start(handler)` and runs the io_context until it
  // completes (the stream's deadline closes the socket if it takes too long).
  template <class Start>
  beast::error_code wait(Start&& start) {
    beast::error_code result;
    bool done = false;
    start([&](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    io.restart();
    io.run();
    if (!done) return asio::error::operation_aborted;
    return result;
  }

  template <class Message>
  beast::error_code write(Message& msg) {
    lowest().expires_after(timeout);
    if (secure) return wait([&](auto h) { bhttp::async_write(*secure, msg, std::move(h)); });
    return wait([&](auto h) { bhttp::async_write(*plain, msg, std::move(h)); });
  }

  template <class Parser>
  beast::error_code read(Parser& parser) {
    lowest().expires_after(timeout);
    if (secure) return wait([&](auto h) { bhttp::async_read(*secure, buffer, parser, std::move(h)); });
    return wait([&](auto h) { bhttp::async_read(*plain, buffer, parser, std::move(h)); });
  }
};

HttpConnection::HttpConnection(const std::string& host, uint16_t port, bool tls,
                               std::string ca_file, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.timeout = timeout;
  s.host_header = host + ":" + std::to_string(port);
  if (tls) {
    s.ssl_context.emplace(asio::ssl::context::tls_client);
    if (ca_file.empty()) {
      s.ssl_context->set_verify_mode(asio::ssl::verify_none);
    } else {
      s.ssl_context->load_verify_file(ca_file);
      s.ssl_context->set_verify_mode(asio::ssl::verify_peer);
    }
    s.secure.emplace(s.io, *s.ssl_context);
    if (!ca_file.empty()) s.secure->set_verify_callback(asio::ssl::host_name_verification(host));
    SSL_set_tlsext_host_name(s.secure->native_handle(), host.c_str());
  } else {
    s.plain.emplace(s.io);
  }

  beast::error_code ec;
  tcp::resolver resolver(s.io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) throw std::runtime_error("http_client: cannot resolve " + host + ": " + ec.message());
  s.lowest().expires_after(timeout);
  ec = s.wait([&](auto h) { s.lowest().async_connect(endpoints, std::move(h)); });
  if (ec) throw std::runtime_error("http_client: cannot connect to " + s.host_header + ": " + ec.message());
  if (s.secure) {
    s.lowest().expires_after(timeout);
    ec = s.wait([&](auto h) { s.secure->async_handshake(asio::ssl::stream_base::client, std::move(h)); });
    if (ec) throw std::runtime_error("http_client: TLS handshake with " + s.host_header + " failed: " + ec.message());
  }
}

HttpConnection::~HttpConnection() {
  beast::error_code ignored;
  impl_->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->lowest().close();
}

HttpResult HttpConnection::request(std::string method, std::string target, std::string body,
                                   const HttpHeaders& headers) {
  Impl& s = *impl_;
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  req.method_string(method);
  req.target(target);
  req.set(bhttp::field::host, s.host_header);
  req.set(bhttp::field::user_agent, "phrgate-test-client");
  for (const auto& [name, value] : headers) req.insert(name, value);
  bool has_body = !body.empty();
  req.body() = std::move(body);
  if (has_body || method == "POST" || method == "PUT") req.prepare_payload();

  beast::error_code write_ec = s.write(req);
  if (write_ec && write_ec != asio::error::broken_pipe && write_ec != asio::error::connection_reset)
    throw std::runtime_error("http_client: write failed: " + write_ec.message());

  // A server may answer (e.g. 413) and close before reading everything we sent: still try
  // to read its answer after a broken pipe.
  // Interim 1xx responses (100 Continue) are skipped.
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  do {
    parser.emplace();
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::error_code read_ec = s.read(*parser);
    if (read_ec) {
      throw std::runtime_error("http_client: no response: " + read_ec.message() +
                               (write_ec ? " (after write error: " + write_ec.message() + ")" : ""));
    }
  } while (parser->get().result_int() / 100 == 1);
  auto& res = parser->get();
  HttpResult result;
  result.status = static_cast<int>(res.result_int());
  for (const auto& field : res)
    result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  result.body = std::move(res.body());
  result.keep_alive = res.keep_alive();
  return result;
}

HttpResult http_request(const std::string& host, uint16_t port, std::string method,
                        std::string target, std::string body, HttpHeaders headers, bool tls,
                        std::string ca_file) {
  HttpConnection connection(host, port, tls, std::move(ca_file));
  return connection.request(std::move(method), std::move(target), std::move(body), headers);
}

}  // namespace phrgate::testing
