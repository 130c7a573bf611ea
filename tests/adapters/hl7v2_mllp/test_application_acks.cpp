// Adapter tests of enhanced-mode application acknowledgements (MSH-16) of the "hl7v2_mllp"
// source: the CA comes after the commit, then AA or AE is sent to the sender's own MLLP
// listener (a real listener on 127.0.0.1 here) once the row is processed; ER/SU conditions; a
// sender listener that is down at first gets the ACK after it comes up; promised ACKs survive
// a restart of the source. The pipeline is simulated by completing inbox rows directly.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "adapters/common/mllp/mllp_client.h"
#include "adapters/common/mllp/mllp_listener.h"
#include "adapters/hl7v2/hl7v2_application_acks.h"
#include "adapters/hl7v2/hl7v2_mllp_source.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/queue/inbox.h"
#include "tests/support/source_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace std::chrono_literals;
using phrgate::testing::TempDir;

namespace {

std::string adt(const std::string& control_id, const std::string& msh16) {
  return "MSH|^~\\&|EMR|APP_HOSP|PHRGATE|PHR|20261124101500-0500||ADT^A01|" + control_id +
         "|P|2.5.1|||AL|" + msh16 + "\rEVN|A01|20261124101500-0500\rPID|1||MRN7^^^APP_HOSP^MR||Testpatient^App||19800202|F\r";
}

std::string seg_field(const std::string& msg, const std::string& seg, std::size_t n) {
  std::size_t pos = msg.rfind(seg + "|", 0) == 0 ? 0 : msg.find("\r" + seg + "|");
  if (pos == std::string::npos) return "<none>";
  if (pos != 0) ++pos;
  std::string s = msg.substr(pos, msg.find('\r', pos) - pos);
  std::size_t start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    start = s.find('|', start);
    if (start == std::string::npos) return "";
    ++start;
  }
  return s.substr(start, s.find('|', start) - start);
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// The sending system's own MLLP listener: records every application ACK and answers CA.
struct SenderListener {
  boost::asio::io_context& io;
  std::mutex mutex;
  std::vector<std::string> received;
  std::unique_ptr<mllp::MllpListener> listener;

  SenderListener(boost::asio::io_context& ctx, uint16_t port) : io(ctx) {
    mllp::MllpListenerOptions o;
    o.bind_address = "127.0.0.1";
    o.port = port;
    listener = std::make_unique<mllp::MllpListener>(io, o, [this](mllp::MllpFrame f) {
      {
        std::lock_guard lock(mutex);
        received.push_back(f.payload);
      }
      f.responder.respond("MSH|^~\\&|EMR|APP_HOSP|PHRGATE|PHR|20261124101600||ACK|R" +
                          seg_field(f.payload, "MSH", 9) + "|P|2.5.1\rMSA|CA|" + seg_field(f.payload, "MSH", 9) + "\r");
    });
    listener->start();
  }
  uint16_t port() const { return listener->port(); }
  std::vector<std::string> acks() {
    std::lock_guard lock(mutex);
    return received;
  }
};

// A free loopback port: bind a listener on port 0, note its port, close it.
uint16_t free_port(boost::asio::io_context& io) {
  mllp::MllpListenerOptions o;
  o.bind_address = "127.0.0.1";
  mllp::MllpListener l(io, o, [](mllp::MllpFrame) {});
  l.start();
  return l.port();
}

struct Rig {
  TempDir dir;
  std::atomic<int> fail_commits{0};
  std::unique_ptr<queue::Inbox> inbox = testing::open_failable_inbox(dir.file("inbox.db"), fail_commits);
  metrics::Registry metrics;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread io_thread{[this] { io.run(); }};
  pipeline::SourceDeps deps{io, *inbox, metrics, [] {}, dir.path()};
  std::unique_ptr<pipeline::Source> source;

  ~Rig() {
    source.reset();
    inbox->flush();
    work.reset();
    io.stop();
    io_thread.join();
  }

  void start_source(uint16_t sender_port) {
    source.reset();
    source = hl7v2::make_hl7v2_mllp_source(
        testing::load_source_config(R"({"name": "emr-app", "type": "hl7v2_mllp", "listen": "127.0.0.1", "port": 0,
            "application_ack": {"host": "127.0.0.1", "port": )" + std::to_string(sender_port) +
                                    R"(, "poll_interval_ms": 20, "retry_delay_ms": 50, "reply_timeout_ms": 2000}})"),
        deps);
    source->start();
  }

  std::string send(const std::string& message) {
    mllp::MllpClient client;
    client.connect("127.0.0.1", static_cast<uint16_t>(std::stoi(source->status().listening)));
    return client.send(message);
  }

  // Plays the pipeline: finishes every pending row as Done, or Failed with an error.
  void process_all(queue::InboxStatus outcome) {
    inbox->flush();
    for (const auto& row : inbox->fetch_pending(100))
      inbox->complete(row.id, outcome, outcome == queue::InboxStatus::Failed ? "no Patient could be derived" : "", "v1");
  }

  int64_t outstanding() {
    for (const auto& [k, v] : source->status().counters)
      if (k == "application_acks_outstanding") return v;
    return -1;
  }
};

}  // namespace

TEST_CASE("MSH-16 conditions decide whether an application ACK is sent", "[hl7v2_mllp]") {
  CHECK(hl7v2::application_ack_wanted("AL", true));
  CHECK(hl7v2::application_ack_wanted("AL", false));
  CHECK_FALSE(hl7v2::application_ack_wanted("ER", true));
  CHECK(hl7v2::application_ack_wanted("ER", false));
  CHECK(hl7v2::application_ack_wanted("SU", true));
  CHECK_FALSE(hl7v2::application_ack_wanted("SU", false));
  CHECK_FALSE(hl7v2::application_ack_wanted("NE", true));
  CHECK_FALSE(hl7v2::application_ack_wanted("", false));
}

TEST_CASE("CA after the commit, then AA once processed, AE with ERR once failed", "[hl7v2_mllp]") {
  log::set_level(log::Level::Error);
  Rig rig;
  SenderListener sender(rig.io, 0);
  rig.start_source(sender.port());

  const std::string ca = rig.send(adt("APP1", "AL"));
  CHECK(seg_field(ca, "MSA", 1) == "CA");
  CHECK(rig.outstanding() == 1);  // promised before the CA went out
  std::this_thread::sleep_for(100ms);
  CHECK(sender.acks().empty());  // not processed yet: nothing sent

  rig.process_all(queue::InboxStatus::Done);
  REQUIRE(wait_until([&] { return sender.acks().size() == 1; }));
  const std::string aa = sender.acks()[0];
  CHECK(seg_field(aa, "MSH", 8).rfind("ACK", 0) == 0);  // MSH-9
  CHECK(seg_field(aa, "MSA", 1) == "AA");
  CHECK(seg_field(aa, "MSA", 2) == "APP1");
  CHECK(wait_until([&] { return rig.outstanding() == 0; }));

  CHECK(seg_field(rig.send(adt("APP2", "AL")), "MSA", 1) == "CA");
  rig.process_all(queue::InboxStatus::Failed);
  REQUIRE(wait_until([&] { return sender.acks().size() == 2; }));
  const std::string ae = sender.acks()[1];
  CHECK(seg_field(ae, "MSA", 1) == "AE");
  CHECK(seg_field(ae, "MSA", 2) == "APP2");
  CHECK(ae.find("\rERR|") != std::string::npos);
  CHECK(ae.find("MRN7") == std::string::npos);  // no PHI beyond the control id
  log::set_level(log::Level::Info);
}

TEST_CASE("ER sends only for failures, SU only for successes", "[hl7v2_mllp]") {
  log::set_level(log::Level::Error);
  Rig rig;
  SenderListener sender(rig.io, 0);
  rig.start_source(sender.port());
  rig.send(adt("ER-ok", "ER"));
  rig.send(adt("SU-ok", "SU"));
  rig.process_all(queue::InboxStatus::Done);
  rig.send(adt("ER-bad", "ER"));
  rig.send(adt("SU-bad", "SU"));
  rig.process_all(queue::InboxStatus::Failed);
  REQUIRE(wait_until([&] { return rig.outstanding() == 0; }));
  std::vector<std::string> got;
  for (const auto& a : sender.acks()) got.push_back(seg_field(a, "MSA", 2) + ":" + seg_field(a, "MSA", 1));
  CHECK(got == std::vector<std::string>{"SU-ok:AA", "ER-bad:AE"});
  log::set_level(log::Level::Info);
}

TEST_CASE("a sender listener that is down gets the ACK later; promises survive a restart", "[hl7v2_mllp][fault]") {
  log::set_level(log::Level::Error);
  Rig rig;
  const uint16_t port = free_port(rig.io);  // nobody listens there yet
  rig.start_source(port);
  CHECK(seg_field(rig.send(adt("DOWN1", "AL")), "MSA", 1) == "CA");
  rig.process_all(queue::InboxStatus::Done);
  std::this_thread::sleep_for(150ms);  // a few failed attempts
  CHECK(rig.outstanding() == 1);

  rig.start_source(port);  // a restart: the promise is read back from the state file
  CHECK(rig.outstanding() == 1);
  SenderListener sender(rig.io, port);
  REQUIRE(wait_until([&] { return sender.acks().size() == 1; }));
  CHECK(seg_field(sender.acks()[0], "MSA", 2) == "DOWN1");
  CHECK(wait_until([&] { return rig.outstanding() == 0; }));
  log::set_level(log::Level::Info);
}
