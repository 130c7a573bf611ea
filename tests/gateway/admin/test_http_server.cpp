// Adapter tests for phrgate's HTTP server: real sockets on 127.0.0.1 (port 0), the server's
// io_context on a thread. Covers routing, OperationOutcome errors, query decoding, bearer
// roles, body limit, handler exceptions, keep-alive, read timeout, graceful stop and TLS.
// Must stay bounded in time: every client step has a deadline.
#include <array>
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "gateway/admin/http_server.h"
#include "gateway/core/log.h"
#include "gateway/core/resource_id.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_tls.h"

namespace asio = boost::asio;
using phrgate::http::HttpServer;
using phrgate::http::HttpServerOptions;
using phrgate::http::Request;
using phrgate::http::Response;
using phrgate::http::Role;
using phrgate::testing::HttpConnection;
using phrgate::testing::http_request;

namespace {

constexpr const char* kReaderToken = "reader-secret-1";
constexpr const char* kAdminToken = "admin-secret-2";

HttpServerOptions base_options() {
  HttpServerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.max_body_bytes = 1024;
  o.tokens = {{"fhir-reader", phrgate::sha256_hex(kReaderToken), Role::Reader},
              {"ops-admin", phrgate::sha256_hex(kAdminToken), Role::Admin}};
  return o;
}

Response text(std::string body) {
  Response r;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

void add_routes(HttpServer& s) {
  s.route("GET", "/healthz", Role::None, [](const Request&) { return text("ok"); });
  s.route("GET", "/fhir/{type}/{id}", Role::Reader, [](const Request& r) {
    return text("generic:" + r.path_params.at("type") + "/" + r.path_params.at("id") + ":" + r.principal);
  });
  s.route("GET", "/fhir/Patient/{id}", Role::Reader,
          [](const Request& r) { return text("patient:" + *r.path_param("id")); });
  s.route("GET", "/fhir/Patient/{id}/$everything", Role::Reader,
          [](const Request& r) { return text("everything:" + *r.path_param("id")); });
  s.route("GET", "/echo-query", Role::None, [](const Request& r) {
    std::string out;
    for (const auto& [k, v] : r.query) out += k + "=" + v + "\n";
    return text(out);
  });
  s.route("POST", "/admin/reload", Role::Admin,
          [](const Request& r) { return text("reloaded by " + r.principal); });
  s.route("POST", "/upload", Role::None,
          [](const Request& r) { return text(std::to_string(r.body.size())); });
  s.route("GET", "/boom", Role::None,
          [](const Request&) -> Response { throw std::runtime_error("handler failed"); });
}

// A server with its io_context running on a thread; shutdown() stops it and waits (bounded)
// for the io_context to run out of work.
struct RunningServer {
  asio::io_context io;
  HttpServer server;
  std::promise<void> finished;
  std::future<void> finished_future = finished.get_future();
  std::thread thread;

  explicit RunningServer(HttpServerOptions options,
                         const std::function<void(HttpServer&)>& setup = add_routes)
      : server(io, std::move(options)) {
    setup(server);
    server.start();
    thread = std::thread([this] {
      io.run();
      finished.set_value();
    });
  }
  ~RunningServer() { shutdown(); }

  // True if the io_context ran out of work within the deadline.
  bool shutdown(std::chrono::seconds deadline = std::chrono::seconds(5)) {
    if (!thread.joinable()) return true;
    server.stop();
    bool ok = finished_future.wait_for(deadline) == std::future_status::ready;
    if (!ok) io.stop();
    thread.join();
    return ok;
  }
  uint16_t port() const { return server.port(); }
};

phrgate::testing::HttpHeaders bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// Parses an OperationOutcome body and returns issue[0].code ("" if not one).
std::string outcome_code(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("resourceType") ||
      std::string(doc["resourceType"].GetString()) != "OperationOutcome")
    return "";
  const auto& issue = doc["issue"][0];
  if (std::string(issue["severity"].GetString()) != "error") return "";
  return issue["code"].GetString();
}

// Writes `bytes` on a fresh connection and reads until the server closes it or the deadline
// passes. Returns what was received and whether the server closed.
struct RawResult {
  std::string received;
  bool closed_by_server = false;
};
RawResult raw_exchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds deadline) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(bytes));
  RawResult result;
  std::array<char, 4096> buf{};
  std::function<void()> read_more = [&] {
    socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
      result.received.append(buf.data(), n);
      if (ec) {
        result.closed_by_server = true;
        return;
      }
      read_more();
    });
  };
  read_more();
  io.run_for(deadline);
  return result;
}

}  // namespace

TEST_CASE("routes match literal and {param} segments, most specific first", "[http]") {
  RunningServer rs(base_options());
  auto get = [&](const std::string& target) {
    return http_request("127.0.0.1", rs.port(), "GET", target, {}, bearer(kReaderToken));
  };
  auto r = get("/fhir/Observation/42");
  CHECK(r.status == 200);
  CHECK(r.body == "generic:Observation/42:fhir-reader");
  CHECK(get("/fhir/Patient/7").body == "patient:7");
  CHECK(get("/fhir/Patient/7/$everything").body == "everything:7");
  // An encoded slash stays inside the parameter.
  CHECK(get("/fhir/Patient/a%2Fb").body == "patient:a/b");

  CHECK(r.header("Content-Type") != nullptr);
  CHECK(*r.header("Content-Type") == "text/plain");
  CHECK(*r.header("Cache-Control") == "no-store");
  CHECK(*r.header("Server") == "phrgate");
}

TEST_CASE("unknown paths give 404 and other methods 405, as OperationOutcome", "[http]") {
  RunningServer rs(base_options());
  auto r = http_request("127.0.0.1", rs.port(), "GET", "/nowhere?identifier=secret");
  CHECK(r.status == 404);
  CHECK(outcome_code(r.body) == "not-found");
  CHECK(r.body.find("secret") == std::string::npos);
  CHECK(*r.header("Cache-Control") == "no-store");

  r = http_request("127.0.0.1", rs.port(), "GET", "/fhir/Patient");  // too few segments
  CHECK(r.status == 404);

  r = http_request("127.0.0.1", rs.port(), "DELETE", "/healthz");
  CHECK(r.status == 405);
  CHECK(outcome_code(r.body) == "not-supported");
  REQUIRE(r.header("Allow") != nullptr);
  CHECK(*r.header("Allow") == "GET");
}

TEST_CASE("query strings are percent-decoded, '+' is a space, repeated keys kept", "[http]") {
  RunningServer rs(base_options());
  auto r = http_request("127.0.0.1", rs.port(), "GET",
                        "/echo-query?a=1&b=x+y&a=%7C2&&c&name=J%C3%BCrgen%20M");
  CHECK(r.status == 200);
  CHECK(r.body == "a=1\nb=x y\na=|2\nc=\nname=J\xC3\xBCrgen M\n");

  for (const char* bad : {"/echo-query?a=%zz", "/echo-query?a=%2", "/echo-query?%=1"}) {
    auto b = http_request("127.0.0.1", rs.port(), "GET", bad);
    CHECK(b.status == 400);
    CHECK(outcome_code(b.body) == "invalid");
  }
  CHECK(http_request("127.0.0.1", rs.port(), "GET", "/fhir/Patient/%G1", {}, bearer(kReaderToken))
            .status == 400);
}

TEST_CASE("bearer tokens: 401 without or with a wrong token, 403 on a low role", "[http]") {
  RunningServer rs(base_options());
  const uint16_t port = rs.port();

  auto r = http_request("127.0.0.1", port, "GET", "/fhir/Patient/1");
  CHECK(r.status == 401);
  CHECK(outcome_code(r.body) == "login");
  REQUIRE(r.header("WWW-Authenticate") != nullptr);
  CHECK(r.header("WWW-Authenticate")->rfind("Bearer", 0) == 0);

  r = http_request("127.0.0.1", port, "GET", "/fhir/Patient/1", {}, bearer("not-a-token"));
  CHECK(r.status == 401);
  CHECK(outcome_code(r.body) == "login");
  REQUIRE(r.header("WWW-Authenticate") != nullptr);

  r = http_request("127.0.0.1", port, "GET", "/fhir/Patient/1", {}, {{"Authorization", kReaderToken}});
  CHECK(r.status == 401);  // no "Bearer" scheme

  r = http_request("127.0.0.1", port, "POST", "/admin/reload", "x", bearer(kReaderToken));
  CHECK(r.status == 403);
  CHECK(outcome_code(r.body) == "forbidden");

  r = http_request("127.0.0.1", port, "POST", "/admin/reload", {}, bearer(kAdminToken));
  CHECK(r.status == 200);
  CHECK(r.body == "reloaded by ops-admin");

  // Admin includes Reader; the scheme is case-insensitive.
  r = http_request("127.0.0.1", port, "GET", "/fhir/Encounter/9", {},
                   {{"Authorization", std::string("bearer ") + kAdminToken}});
  CHECK(r.status == 200);
  CHECK(r.body == "generic:Encounter/9:ops-admin");

  // Public route needs no token.
  r = http_request("127.0.0.1", port, "GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(r.body == "ok");

  auto c = rs.server.counters();
  CHECK(c.status_4xx == 4);
  CHECK(c.status_2xx == 3);
  CHECK(c.requests_total == 7);
}

TEST_CASE("an ingest token may submit records and do nothing else", "[http]") {
  using phrgate::http::role_allows;
  STATIC_REQUIRE(role_allows(Role::Ingest, Role::Ingest));
  STATIC_REQUIRE(role_allows(Role::Admin, Role::Ingest));
  STATIC_REQUIRE_FALSE(role_allows(Role::Operator, Role::Ingest));
  STATIC_REQUIRE_FALSE(role_allows(Role::Reader, Role::Ingest));
  STATIC_REQUIRE_FALSE(role_allows(Role::Ingest, Role::Reader));
  STATIC_REQUIRE(role_allows(Role::Ingest, Role::None));
  STATIC_REQUIRE(role_allows(Role::Phr, Role::Phr));
  STATIC_REQUIRE(role_allows(Role::Admin, Role::Phr));
  STATIC_REQUIRE_FALSE(role_allows(Role::Ingest, Role::Phr));
  STATIC_REQUIRE_FALSE(role_allows(Role::Operator, Role::Phr));
  STATIC_REQUIRE_FALSE(role_allows(Role::Phr, Role::Ingest));
  STATIC_REQUIRE_FALSE(role_allows(Role::Phr, Role::Reader));
  STATIC_REQUIRE_FALSE(role_allows(Role::Phr, Role::Operator));

  constexpr const char* kIngestToken = "ingest-secret-3";
  HttpServerOptions o = base_options();
  o.tokens.push_back({"lab-feed", phrgate::sha256_hex(kIngestToken), Role::Ingest});
  RunningServer rs(o, [](HttpServer& s) {
    add_routes(s);
    s.route("POST", "/ingest/x", Role::Ingest, [](const Request& r) { return text("took from " + r.principal); });
  });
  auto r = http_request("127.0.0.1", rs.port(), "POST", "/ingest/x", "doc", bearer(kIngestToken));
  CHECK(r.status == 200);
  CHECK(r.body == "took from lab-feed");
  r = http_request("127.0.0.1", rs.port(), "GET", "/fhir/Patient/1", {}, bearer(kIngestToken));
  CHECK(r.status == 403);
  r = http_request("127.0.0.1", rs.port(), "POST", "/ingest/x", "doc", bearer(kReaderToken));
  CHECK(r.status == 403);
}

TEST_CASE("HttpServer rejects a token hash that is not SHA-256 hex", "[http]") {
  asio::io_context io;
  HttpServerOptions o = base_options();
  o.tokens.push_back({"broken", "plaintext-secret", Role::Admin});
  CHECK_THROWS_AS(HttpServer(io, o), std::invalid_argument);
}

TEST_CASE("bodies over max_body_bytes get 413, smaller ones reach the handler", "[http]") {
  RunningServer rs(base_options());  // limit 1024
  auto r = http_request("127.0.0.1", rs.port(), "POST", "/upload", std::string(1000, 'x'));
  CHECK(r.status == 200);
  CHECK(r.body == "1000");

  r = http_request("127.0.0.1", rs.port(), "POST", "/upload", std::string(4096, 'x'));
  CHECK(r.status == 413);
  CHECK(outcome_code(r.body) == "too-long");
  CHECK(!r.keep_alive);

  // A large body the server refuses after the headers, without reading it: the client still
  // gets the 413 (the server half-closes and drains briefly rather than resetting).
  r = http_request("127.0.0.1", rs.port(), "POST", "/upload", std::string(4u << 20, 'x'));
  CHECK(r.status == 413);

  // Expect: 100-continue gets an interim 100, then the final answer.
  r = http_request("127.0.0.1", rs.port(), "POST", "/upload", "abc", {{"Expect", "100-continue"}});
  CHECK(r.status == 200);
  CHECK(r.body == "3");

  // Headers over max_header_bytes (16 KiB) get 431.
  r = http_request("127.0.0.1", rs.port(), "GET", "/healthz", {}, {{"X-Big", std::string(20000, 'h')}});
  CHECK(r.status == 431);
  CHECK(outcome_code(r.body) == "too-long");

  // Chunked: the size is only known while reading, the parser's limit catches it.
  std::string chunked = "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "800\r\n" + std::string(0x800, 'y') + "\r\n0\r\n\r\n";
  auto raw = raw_exchange(rs.port(), chunked, std::chrono::seconds(5));
  CHECK(raw.received.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(raw.closed_by_server);
}

TEST_CASE("a throwing handler gives 500 and the server keeps serving", "[http]") {
  RunningServer rs(base_options());
  HttpConnection conn("127.0.0.1", rs.port());
  auto r = conn.request("GET", "/boom");
  CHECK(r.status == 500);
  CHECK(outcome_code(r.body) == "exception");
  CHECK(r.body.find("handler failed") == std::string::npos);  // no exception text leaked
  r = conn.request("GET", "/healthz");  // same connection still works
  CHECK(r.status == 200);
  CHECK(http_request("127.0.0.1", rs.port(), "GET", "/healthz").status == 200);
  CHECK(rs.server.counters().handler_exceptions == 1);
  CHECK(rs.server.counters().status_5xx == 1);
}

TEST_CASE("keep-alive: two requests on one connection", "[http]") {
  RunningServer rs(base_options());
  HttpConnection conn("127.0.0.1", rs.port());
  phrgate::log::set_level(phrgate::log::Level::Debug);  // exercise the per-request log line
  auto first = conn.request("GET", "/healthz?identifier=must-not-be-logged");
  phrgate::log::set_level(phrgate::log::Level::Info);
  auto second = conn.request("POST", "/upload", "abc");
  CHECK(first.status == 200);
  CHECK(first.keep_alive);
  CHECK(second.status == 200);
  CHECK(second.body == "3");
  CHECK(rs.server.counters().connections_accepted == 1);
}

TEST_CASE("idle keep-alive connections are closed after idle_timeout", "[http]") {
  HttpServerOptions o = base_options();
  o.idle_timeout = std::chrono::milliseconds(200);
  RunningServer rs(o);
  HttpConnection conn("127.0.0.1", rs.port());
  REQUIRE(conn.request("GET", "/healthz").status == 200);
  REQUIRE(rs.server.counters().connections_active == 1);
  for (int i = 0; i < 250 && rs.server.counters().connections_active != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(rs.server.counters().connections_active == 0);
  CHECK_THROWS(conn.request("GET", "/healthz"));
}

TEST_CASE("at max_connections, accepting pauses until a connection closes", "[http]") {
  HttpServerOptions o = base_options();
  o.max_connections = 1;
  RunningServer rs(o);
  auto first = std::make_unique<HttpConnection>("127.0.0.1", rs.port());
  REQUIRE(first->request("GET", "/healthz").status == 200);
  // The second connection completes its TCP handshake in the kernel backlog, but is not
  // served while the first one is open.
  auto second = std::async(std::launch::async, [&] {
    return http_request("127.0.0.1", rs.port(), "GET", "/healthz");
  });
  CHECK(second.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  first.reset();
  CHECK(second.get().status == 200);
  CHECK(rs.server.counters().connections_accepted == 2);
}

TEST_CASE("a client that never finishes its request is cut off by the read timeout", "[http]") {
  HttpServerOptions o = base_options();
  o.read_timeout = std::chrono::milliseconds(300);
  RunningServer rs(o);
  auto raw = raw_exchange(rs.port(), "GET /healthz HTTP/1.1\r\nHost: t\r\n", std::chrono::seconds(5));
  CHECK(raw.closed_by_server);
  CHECK(raw.received.empty());
  REQUIRE(rs.shutdown());
  CHECK(rs.server.counters().read_timeouts == 1);
  CHECK(rs.server.counters().requests_total == 0);
}

TEST_CASE("stop() finishes the request in flight and closes idle connections", "[http]") {
  std::promise<void> entered, release;
  auto release_future = release.get_future().share();
  RunningServer rs(base_options(), [&](HttpServer& s) {
    add_routes(s);
    s.route("GET", "/slow", Role::None, [&, release_future](const Request&) {
      entered.set_value();
      release_future.wait_for(std::chrono::seconds(5));
      return text("done");
    });
  });
  HttpConnection idle("127.0.0.1", rs.port());
  REQUIRE(idle.request("GET", "/healthz").status == 200);

  auto in_flight = std::async(std::launch::async, [&] {
    return http_request("127.0.0.1", rs.port(), "GET", "/slow");
  });
  REQUIRE(entered.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  rs.server.stop();
  release.set_value();
  auto r = in_flight.get();
  CHECK(r.status == 200);
  CHECK(r.body == "done");
  CHECK(!r.keep_alive);  // answered with Connection: close
  CHECK(rs.shutdown());   // idle connection closed, nothing left: io_context returns
  CHECK_THROWS(idle.request("GET", "/healthz"));
  CHECK_THROWS(http_request("127.0.0.1", rs.port(), "GET", "/healthz"));
}

TEST_CASE("TLS round trip with a self-signed certificate", "[http]") {
  phrgate::testing::TempDir dir("phrgate-http-tls-");
  auto [cert_file, key_file] = phrgate::testing::write_self_signed_cert(dir.path());
  HttpServerOptions o = base_options();
  o.tls = phrgate::http::TlsFiles{cert_file, key_file};
  RunningServer rs(o);
  auto r = http_request("127.0.0.1", rs.port(), "GET", "/fhir/Patient/5", {}, bearer(kReaderToken),
                        /*tls=*/true, cert_file);
  CHECK(r.status == 200);
  CHECK(r.body == "patient:5");

  HttpConnection conn("127.0.0.1", rs.port(), /*tls=*/true, cert_file);
  CHECK(conn.request("GET", "/healthz").status == 200);
  CHECK(conn.request("GET", "/healthz").status == 200);

  // Plain HTTP to the TLS port gets no HTTP answer.
  CHECK_THROWS(http_request("127.0.0.1", rs.port(), "GET", "/healthz"));
}

TEST_CASE("start() fails cleanly on a bad TLS file", "[http]") {
  asio::io_context io;
  HttpServerOptions o = base_options();
  o.tls = phrgate::http::TlsFiles{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
  HttpServer server(io, o);
  CHECK_THROWS_AS(server.start(), std::runtime_error);
}
