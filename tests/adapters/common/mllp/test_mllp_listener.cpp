// Adapter tests for MllpListener and MllpClient over real sockets on 127.0.0.1 (port 0):
// framing over TCP, ordering, backpressure, limits, timeouts, drain, and TLS (self-signed
// certificate made at test time). Every wait is bounded; nothing runs past the test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "adapters/common/mllp/mllp_client.h"
#include "adapters/common/mllp/mllp_listener.h"
#include "gateway/core/log.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_tls.h"

using namespace phrgate::mllp;
using namespace std::chrono_literals;

namespace {

// An io_context run by `threads` threads for the test's lifetime.
class IoThreads {
 public:
  explicit IoThreads(int threads = 1) : guard_(boost::asio::make_work_guard(io)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io.run(); });
  }
  ~IoThreads() {
    guard_.reset();
    io.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

MllpListenerOptions local_options() {
  MllpListenerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.log_name = "test";
  return o;
}

MllpClientOptions quick_client() {
  MllpClientOptions o;
  o.connect_timeout = 3s;
  o.reply_timeout = 3s;
  return o;
}

void echo(MllpFrame frame) { frame.responder.respond("ACK:" + frame.payload); }

std::string framed(std::string_view payload) {
  std::string out;
  append_framed(out, payload);
  return out;
}

// Keeps the responders a handler was given, for tests that answer later.
struct HeldFrames {
  std::mutex mutex;
  std::vector<MllpFrame> frames;

  void add(MllpFrame f) {
    std::lock_guard<std::mutex> lock(mutex);
    frames.push_back(std::move(f));
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return frames.size();
  }
  MllpFrame at(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    return frames.at(i);
  }
};

struct QuietLog {
  QuietLog() { phrgate::log::set_level(phrgate::log::Level::Error); }
  ~QuietLog() { phrgate::log::set_level(phrgate::log::Level::Info); }
};

}  // namespace

TEST_CASE("listener answers frames split byte by byte, batched, or after garbage", "[mllp][listener]") {
  QuietLog quiet;
  IoThreads io;
  MllpListener listener(io.io, local_options(), echo);
  listener.start();
  REQUIRE(listener.port() != 0);
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());

  SECTION("a simple round trip") { CHECK(client.send("MSH|1") == "ACK:MSH|1"); }
  SECTION("one byte per write") {
    for (char c : framed("MSH|split")) client.write_raw(std::string_view(&c, 1));
    CHECK(client.read_reply() == "ACK:MSH|split");
  }
  SECTION("several frames in one write") {
    client.write_raw(framed("a") + framed("b") + framed("c"));
    CHECK(client.read_reply() == "ACK:a");
    CHECK(client.read_reply() == "ACK:b");
    CHECK(client.read_reply() == "ACK:c");
  }
  SECTION("garbage before the first start block is skipped") {
    client.write_raw("junk\r\n" + framed("x"));
    CHECK(client.read_reply() == "ACK:x");
    CHECK(listener.stats().garbage_bytes_skipped == 6);
  }
  SECTION("pipelined sends come back in order") {
    std::vector<std::string> payloads;
    for (int i = 0; i < 200; ++i) payloads.push_back("m" + std::to_string(i));
    const std::vector<std::string> replies = client.send_pipelined(payloads);
    REQUIRE(replies.size() == payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i) CHECK(replies[i] == "ACK:" + payloads[i]);
  }
  const MllpListenerStats stats = listener.stats();
  CHECK(stats.frames_received >= 1);
  CHECK(stats.bytes_received > 0);
  CHECK(stats.active_connections == 1);
}

TEST_CASE("an oversize frame closes the connection", "[mllp][listener]") {
  QuietLog quiet;
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.max_frame_bytes = 1024;
  MllpListener listener(io.io, options, echo);
  listener.start();
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());
  CHECK(client.send(std::string(1024, 'a')) == "ACK:" + std::string(1024, 'a'));  // at the limit
  CHECK_THROWS_AS(client.send(std::string(4096, 'b')), MllpClientError);
  CHECK(wait_until([&] { return listener.stats().active_connections == 0; }));
  CHECK(listener.stats().oversize_closes == 1);
}

TEST_CASE("an idle connection is closed after idle_timeout", "[mllp][listener]") {
  QuietLog quiet;
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.idle_timeout = 200ms;
  MllpListener listener(io.io, options, echo);
  listener.start();
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());
  CHECK(client.send("before") == "ACK:before");
  try {
    client.read_reply();  // nothing was sent: only the server's close ends this
    FAIL("expected the server to close the idle connection");
  } catch (const MllpClientError& e) {
    CHECK(e.kind() == MllpClientError::Kind::Closed);
  }
  CHECK(listener.stats().idle_timeouts == 1);
}

TEST_CASE("50 concurrent connections x 20 messages are all answered in order", "[mllp][listener]") {
  QuietLog quiet;
  IoThreads io(2);
  MllpListener listener(io.io, local_options(), echo);
  listener.start();
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 50; ++c) {
    clients.emplace_back([&, c] {
      try {
        MllpClient client(quick_client());
        client.connect("127.0.0.1", listener.port());
        std::vector<std::string> payloads;
        for (int m = 0; m < 10; ++m) payloads.push_back("c" + std::to_string(c) + "m" + std::to_string(m));
        const auto replies = client.send_pipelined(payloads);  // 10 pipelined...
        bool ok = replies.size() == payloads.size();
        for (std::size_t i = 0; ok && i < replies.size(); ++i) ok = replies[i] == "ACK:" + payloads[i];
        for (int m = 10; m < 20 && ok; ++m) {  // ...then 10 one at a time
          const std::string p = "c" + std::to_string(c) + "m" + std::to_string(m);
          ok = client.send(p) == "ACK:" + p;
        }
        if (!ok) ++failures;
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(failures == 0);
  CHECK(listener.stats().frames_received == 1000);
  CHECK(listener.stats().connections_accepted == 50);
  CHECK(wait_until([&] { return listener.stats().active_connections == 0; }));
}

TEST_CASE("replies are written in arrival order even when answered out of order", "[mllp][listener]") {
  QuietLog quiet;
  HeldFrames held;
  IoThreads io;
  MllpListener listener(io.io, local_options(), [&](MllpFrame f) { held.add(std::move(f)); });
  listener.start();
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());
  client.write_raw(framed("one") + framed("two") + framed("three"));
  REQUIRE(wait_until([&] { return held.size() == 3; }));
  std::thread([&] { held.at(2).responder.respond("R3"); }).join();
  held.at(1).responder.respond("R2");
  held.at(0).responder.respond("R1");
  held.at(0).responder.respond("again");  // only the first respond() counts
  CHECK(held.at(0).sequence == 0);
  CHECK(held.at(2).sequence == 2);
  CHECK(client.read_reply() == "R1");
  CHECK(client.read_reply() == "R2");
  CHECK(client.read_reply() == "R3");
  client.write_raw(framed("four"));
  REQUIRE(wait_until([&] { return held.size() == 4; }));
  held.at(3).responder.respond("R4");
  CHECK(client.read_reply() == "R4");  // not "again"
}

TEST_CASE("skip() answers a frame with nothing and keeps later replies in order", "[mllp][listener]") {
  QuietLog quiet;
  HeldFrames held;
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.max_in_flight_per_connection = 2;
  MllpListener listener(io.io, options, [&](MllpFrame f) { held.add(std::move(f)); });
  listener.start();
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());
  client.write_raw(framed("one") + framed("two") + framed("three"));
  REQUIRE(wait_until([&] { return held.size() == 2; }));
  held.at(1).responder.respond("R2");
  held.at(0).responder.skip();
  held.at(0).responder.respond("late");  // the skip was the one answer
  CHECK(held.at(0).responder.responded());
  CHECK(client.read_reply() == "R2");
  REQUIRE(wait_until([&] { return held.size() == 3; }));  // the skip freed an in-flight slot
  held.at(2).responder.skip();
  client.write_raw(framed("four"));
  REQUIRE(wait_until([&] { return held.size() == 4; }));
  held.at(3).responder.respond("R4");
  CHECK(client.read_reply() == "R4");
  // The counter moves in the write's completion handler, which may run after the client read.
  CHECK(wait_until([&] { return listener.stats().replies_written == 2; }));
  CHECK(listener.stats().active_connections == 1);  // a skip does not close the connection
}

TEST_CASE("with max_in_flight frames unanswered the connection stops reading", "[mllp][listener]") {
  QuietLog quiet;
  HeldFrames held;
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.max_in_flight_per_connection = 2;
  MllpListener listener(io.io, options, [&](MllpFrame f) { held.add(std::move(f)); });
  listener.start();
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());
  client.write_raw(framed("1") + framed("2") + framed("3") + framed("4") + framed("5"));

  REQUIRE(wait_until([&] { return listener.stats().frames_received == 2; }));
  std::this_thread::sleep_for(100ms);  // give a wrong implementation time to read more
  CHECK(listener.stats().frames_received == 2);
  CHECK(held.size() == 2);

  held.at(0).responder.respond("A1");
  CHECK(client.read_reply() == "A1");
  REQUIRE(wait_until([&] { return held.size() == 3; }));
  std::this_thread::sleep_for(50ms);
  CHECK(held.size() == 3);  // one slot freed, one more frame read

  held.at(1).responder.respond("A2");
  held.at(2).responder.respond("A3");
  REQUIRE(wait_until([&] { return held.size() == 5; }));
  held.at(3).responder.respond("A4");
  held.at(4).responder.respond("A5");
  for (const char* want : {"A2", "A3", "A4", "A5"}) CHECK(client.read_reply() == want);
  CHECK(listener.stats().frames_received == 5);
}

TEST_CASE("responders outliving their connection are harmless", "[mllp][listener]") {
  QuietLog quiet;
  HeldFrames held;
  IoThreads io;
  MllpListener listener(io.io, local_options(), [&](MllpFrame f) { held.add(std::move(f)); });
  listener.start();
  {
    MllpClient client(quick_client());
    client.connect("127.0.0.1", listener.port());
    client.write_raw(framed("left behind"));
    REQUIRE(wait_until([&] { return held.size() == 1; }));
  }  // the peer closes with a frame in flight
  held.at(0).responder.respond("too late");
  CHECK(wait_until([&] { return listener.stats().active_connections == 0; }));
  held.at(0).responder.respond("twice");
  CHECK(held.at(0).responder.responded());
}

TEST_CASE("a frame whose responders are all dropped closes the connection", "[mllp][listener]") {
  QuietLog quiet;
  IoThreads io;
  MllpListener listener(io.io, local_options(), [](MllpFrame) {});
  listener.start();
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());
  CHECK_THROWS_AS(client.send("never answered"), MllpClientError);
  CHECK(wait_until([&] { return listener.stats().active_connections == 0; }));
}

TEST_CASE("connections beyond max_connections are refused", "[mllp][listener]") {
  QuietLog quiet;
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.max_connections = 1;
  MllpListener listener(io.io, options, echo);
  listener.start();
  MllpClient first(quick_client());
  first.connect("127.0.0.1", listener.port());
  CHECK(first.send("in") == "ACK:in");
  MllpClient second(quick_client());
  second.connect("127.0.0.1", listener.port());  // the kernel accepts; the listener closes
  CHECK_THROWS_AS(second.send("out"), MllpClientError);
  CHECK(listener.stats().connections_rejected == 1);
  CHECK(first.send("still") == "ACK:still");
}

TEST_CASE("drain closes idle connections and waits for in-flight replies", "[mllp][listener]") {
  QuietLog quiet;
  HeldFrames held;
  IoThreads io;
  MllpListener listener(io.io, local_options(), [&](MllpFrame f) { held.add(std::move(f)); });
  listener.start();
  const std::uint16_t port = listener.port();
  MllpClient busy(quick_client());
  busy.connect("127.0.0.1", port);
  MllpClient idle(quick_client());
  idle.connect("127.0.0.1", port);
  busy.write_raw(framed("pending"));
  REQUIRE(wait_until([&] { return held.size() == 1 && listener.stats().active_connections == 2; }));

  std::atomic<bool> drained{false};
  listener.close_idle_and_drain(std::chrono::steady_clock::now() + 5s, [&] { drained = true; });
  CHECK(wait_until([&] { return listener.stats().active_connections == 1; }));  // the idle one
  CHECK_FALSE(drained);
  held.at(0).responder.respond("committed");
  CHECK(busy.read_reply() == "committed");  // the reply still reaches the sender
  CHECK(wait_until([&] { return drained.load(); }));
  CHECK(listener.stats().active_connections == 0);

  MllpClient late(quick_client());
  CHECK_THROWS_AS(late.connect("127.0.0.1", port), MllpClientError);
}

TEST_CASE("drain force-closes at the deadline", "[mllp][listener]") {
  QuietLog quiet;
  HeldFrames held;
  IoThreads io;
  MllpListener listener(io.io, local_options(), [&](MllpFrame f) { held.add(std::move(f)); });
  listener.start();
  MllpClient client(quick_client());
  client.connect("127.0.0.1", listener.port());
  client.write_raw(framed("stuck"));
  REQUIRE(wait_until([&] { return held.size() == 1; }));
  std::atomic<bool> drained{false};
  listener.close_idle_and_drain(std::chrono::steady_clock::now() + 100ms, [&] { drained = true; });
  CHECK(wait_until([&] { return drained.load(); }));
  CHECK_THROWS_AS(client.read_reply(), MllpClientError);
  held.at(0).responder.respond("after the deadline");  // a no-op, not a crash
}

TEST_CASE("TLS listener round trip with a self-signed certificate", "[mllp][listener][tls]") {
  QuietLog quiet;
  phrgate::testing::TempDir dir;
  const auto [cert, key] = phrgate::testing::write_self_signed_cert(dir.path());
  const auto [other_cert, other_key] = phrgate::testing::write_self_signed_cert(dir.path(), "other");
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.tls = MllpServerTlsOptions{cert, key, std::nullopt};
  MllpListener listener(io.io, options, echo);
  listener.start();

  SECTION("a client trusting the certificate, by IP and by name") {
    MllpClientOptions client_options = quick_client();
    client_options.tls = MllpClientTlsOptions{};
    client_options.tls->ca_file = cert;
    MllpClient client(client_options);
    client.connect("127.0.0.1", listener.port());
    CHECK(client.send("secure") == "ACK:secure");
    client.write_raw(framed("x") + framed("y"));
    CHECK(client.read_reply() == "ACK:x");
    CHECK(client.read_reply() == "ACK:y");

    client_options.tls->server_name = "localhost";
    MllpClient by_name(client_options);
    by_name.connect("127.0.0.1", listener.port());
    CHECK(by_name.send("named") == "ACK:named");
  }
  SECTION("a client trusting another certificate fails the handshake") {
    MllpClientOptions client_options = quick_client();
    client_options.tls = MllpClientTlsOptions{};
    client_options.tls->ca_file = other_cert;
    MllpClient client(client_options);
    try {
      client.connect("127.0.0.1", listener.port());
      FAIL("expected a certificate verification failure");
    } catch (const MllpClientError& e) {
      CHECK(e.kind() == MllpClientError::Kind::Tls);
    }
  }
  SECTION("a plain client fails cleanly") {
    MllpClient client(quick_client());
    client.connect("127.0.0.1", listener.port());
    CHECK_THROWS_AS(client.send("not encrypted"), MllpClientError);
    CHECK(wait_until([&] { return listener.stats().tls_handshake_failures == 1; }));
    CHECK(wait_until([&] { return listener.stats().active_connections == 0; }));
  }
}

TEST_CASE("TLS listener with ca_file requires a client certificate", "[mllp][listener][tls]") {
  QuietLog quiet;
  phrgate::testing::TempDir dir;
  const auto [cert, key] = phrgate::testing::write_self_signed_cert(dir.path());
  const auto [client_cert, client_key] = phrgate::testing::write_self_signed_cert(dir.path(), "client");
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.tls = MllpServerTlsOptions{cert, key, client_cert};
  MllpListener listener(io.io, options, echo);
  listener.start();

  MllpClientOptions client_options = quick_client();
  client_options.tls = MllpClientTlsOptions{};
  client_options.tls->ca_file = cert;
  {
    MllpClient anonymous(client_options);
    // TLS 1.3 may report the refusal after the handshake: either step may throw.
    CHECK_THROWS_AS((anonymous.connect("127.0.0.1", listener.port()), anonymous.send("x")),
                    MllpClientError);
  }
  client_options.tls->cert_file = client_cert;
  client_options.tls->key_file = client_key;
  MllpClient known(client_options);
  known.connect("127.0.0.1", listener.port());
  CHECK(known.send("mutual") == "ACK:mutual");
}

TEST_CASE("start() reports unusable TLS files", "[mllp][listener][tls]") {
  QuietLog quiet;
  phrgate::testing::TempDir dir;
  IoThreads io;
  MllpListenerOptions options = local_options();
  options.tls = MllpServerTlsOptions{dir.file("missing.pem"), dir.file("missing.key"), std::nullopt};
  MllpListener listener(io.io, options, echo);
  CHECK_THROWS_AS(listener.start(), std::runtime_error);
}
