// Adapter tests of the "hl7v2_mllp" source: a real io_context thread, a real SQLite inbox in a
// temp dir and MllpClient on 127.0.0.1 (port 0). Original mode, enhanced-mode accept ACKs
// (CA/CE/CR and MSH-15 AL/NE/ER/SU), commit failures, MLLP release 2 blocks, and batches.
// Synthetic patients only; every wait is bounded.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "adapters/common/mllp/mllp_client.h"
#include "adapters/common/mllp/mllp_framer.h"
#include "adapters/hl7v2/hl7v2_mllp_source.h"
#include "gateway/core/config.h"
#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/queue/inbox.h"
#include "tests/support/source_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace std::chrono_literals;
using phrgate::testing::TempDir;

namespace {

config::AdapterConfig load_source(const std::string& source_json) {
  return testing::load_source_config(source_json);
}

// An ADT^A01 with the given MSH-15 / MSH-16; `mrn` empty makes PID-3 empty (an AE case).
std::string adt(const std::string& control_id, const std::string& msh15 = "", const std::string& msh16 = "",
                const std::string& mrn = "MRN1", const std::string& type = "ADT^A01") {
  std::string ack_fields = msh15.empty() && msh16.empty() ? "" : "|||" + msh15 + "|" + msh16;
  return "MSH|^~\\&|EMR|MLLP_HOSP|PHRGATE|PHR|20261124101500-0500||" + type + "|" + control_id + "|P|2.5.1" +
         ack_fields + "\rEVN|A01|20261124101500-0500\rPID|1||" + (mrn.empty() ? "" : mrn + "^^^MLLP_HOSP^MR") +
         "||Testpatient^Mllp||19800202|F\rPV1|1|I|W^101^1\r";
}

// Field n (1-based, after the segment id) of the first segment `id` in an ER7 reply.
std::string field_of(const std::string& msg, const std::string& id, std::size_t n) {
  std::size_t pos = msg.rfind(id + "|", 0) == 0 ? 0 : msg.find("\r" + id + "|");
  if (pos == std::string::npos) return "<no " + id + ">";
  if (pos != 0) ++pos;
  std::string seg = msg.substr(pos, msg.find('\r', pos) - pos);
  std::size_t start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    start = seg.find('|', start);
    if (start == std::string::npos) return "";
    ++start;
  }
  return seg.substr(start, seg.find('|', start) - start);
}
std::string msa1(const std::string& ack) { return field_of(ack, "MSA", 1); }
std::string msa2(const std::string& ack) { return field_of(ack, "MSA", 2); }

std::string framed(std::string_view payload) {
  std::string out;
  mllp::append_framed(out, payload);
  return out;
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

struct QuietLog {
  QuietLog() { log::set_level(log::Level::Error); }
  ~QuietLog() { log::set_level(log::Level::Info); }
};

// An inbox (whose next N commits can be made to fail), metrics, an io_context thread, one
// hl7v2_mllp source on an ephemeral port, and a connected client.
struct Rig {
  QuietLog quiet;
  TempDir dir;
  std::atomic<int> fail_commits{0};
  std::unique_ptr<queue::Inbox> inbox;
  metrics::Registry metrics;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread io_thread{[this] { io.run(); }};
  pipeline::SourceDeps deps{io, *open_inbox(), metrics, [] {}};
  std::unique_ptr<pipeline::Source> source;
  mllp::MllpClient client{client_options()};

  static mllp::MllpClientOptions client_options() {
    mllp::MllpClientOptions o;
    o.connect_timeout = 3s;
    o.reply_timeout = 5s;
    return o;
  }

  queue::Inbox* open_inbox() {
    inbox = testing::open_failable_inbox(dir.file("inbox.db"), fail_commits);
    return inbox.get();
  }

  explicit Rig(const std::string& extra = "") {
    source = hl7v2::make_hl7v2_mllp_source(
        load_source(R"({"name": "emr-mllp", "type": "hl7v2_mllp", "listen": "127.0.0.1", "port": 0)" + extra + "}"),
        deps);
    source->start();
    connect();
  }
  ~Rig() {
    client.close();
    source.reset();
    inbox->flush();
    work.reset();
    io.stop();
    io_thread.join();
  }

  void connect() { client.connect("127.0.0.1", static_cast<uint16_t>(std::stoi(source->status().listening))); }

  std::vector<queue::InboxRow> rows() {
    inbox->flush();
    std::vector<queue::InboxRow> out;
    for (int64_t id = 1;; ++id) {
      auto r = inbox->get(id);
      if (!r) break;
      out.push_back(std::move(*r));
    }
    return out;
  }
};

constexpr const char* kAsRequested = R"(, "acknowledgement_mode": "as_requested")";

}  // namespace

TEST_CASE("original mode: AA, AE and AR after the commit, unchanged", "[hl7v2_mllp]") {
  Rig rig;  // the default, as_requested: messages without MSH-15/16 get original-mode ACKs
  const std::string aa = rig.client.send(adt("O1"));
  CHECK(msa1(aa) == "AA");
  CHECK(msa2(aa) == "O1");
  CHECK(field_of(aa, "MSH", 8) == "ACK^A01^ACK");
  const std::string ae = rig.client.send(adt("O2", "", "", ""));
  CHECK(msa1(ae) == "AE");
  CHECK(ae.find("\rERR|") != std::string::npos);
  const std::string ar = rig.client.send(adt("O3", "", "", "MRN3", "MFN^M01"));
  CHECK(msa1(ar) == "AR");
  auto rows = rig.rows();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].status == queue::InboxStatus::Pending);
  CHECK(rows[0].ack == aa);
  CHECK(rows[1].status == queue::InboxStatus::Rejected);
  CHECK(rows[2].status == queue::InboxStatus::Rejected);
  // By default MSH-15/16 switch to enhanced mode, as HL7 asks.
  CHECK(msa1(rig.client.send(adt("O4", "AL", "NE"))) == "CA");
}

TEST_CASE("acknowledgement_mode original: MSH-15/16 are ignored", "[hl7v2_mllp]") {
  Rig rig(R"(, "acknowledgement_mode": "original")");
  CHECK(msa1(rig.client.send(adt("P4", "AL", "NE"))) == "AA");
  CHECK(msa1(rig.client.send(adt("P5", "NE", "NE"))) == "AA");
}

TEST_CASE("enhanced mode: CA once committed, ACK without MSH-15/16", "[hl7v2_mllp]") {
  Rig rig(kAsRequested);
  const std::string ca = rig.client.send(adt("E1", "AL", "AL"));
  CHECK(msa1(ca) == "CA");
  CHECK(msa2(ca) == "E1");
  CHECK(ca.find("\rERR|") == std::string::npos);
  CHECK(field_of(ca, "MSH", 14).empty());  // MSH-15
  CHECK(field_of(ca, "MSH", 15).empty());  // MSH-16
  auto rows = rig.rows();  // the row is there, with the ACK that was sent
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].control_id == "E1");
  CHECK(rows[0].status == queue::InboxStatus::Pending);
  CHECK(rows[0].ack == ca);
  // MSH-16 alone also selects enhanced mode (MSH-15 empty: answered like AL).
  CHECK(msa1(rig.client.send(adt("E2", "", "AL"))) == "CA");
}

TEST_CASE("enhanced mode: CE for a message that will fail processing", "[hl7v2_mllp]") {
  Rig rig(kAsRequested);
  const std::string ce = rig.client.send(adt("E3", "AL", "NE", ""));
  CHECK(msa1(ce) == "CE");
  CHECK(field_of(ce, "ERR", 3).rfind("101^", 0) == 0);
  auto rows = rig.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].status == queue::InboxStatus::Rejected);
}

TEST_CASE("enhanced mode: CR for unparseable input, and for an unsupported type", "[hl7v2_mllp]") {
  Rig rig(kAsRequested);
  // MSH-10 missing: unparseable, but MSH-15 can still be read.
  const std::string cr = rig.client.send("MSH|^~\\&|EMR|MLLP_HOSP|PHRGATE|PHR|20261124||ADT^A01||P|2.5.1|||AL|AL\rPID|1||X\r");
  CHECK(msa1(cr) == "CR");
  CHECK(cr.find("\rERR|") != std::string::npos);
  CHECK(msa1(rig.client.send(adt("E4", "AL", "", "MRN4", "MFN^M01"))) == "CR");
  auto rows = rig.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].status == queue::InboxStatus::Rejected);
  CHECK(rows[1].status == queue::InboxStatus::Rejected);
}

TEST_CASE("MSH-15 NE: no reply, and the next message's reply still arrives in order", "[hl7v2_mllp]") {
  Rig rig(kAsRequested);
  rig.client.write_raw(framed(adt("N1", "NE", "AL")) + framed(adt("N2", "NE", "AL", "")) + framed(adt("N3", "AL", "AL")));
  const std::string reply = rig.client.read_reply();
  CHECK(msa1(reply) == "CA");
  CHECK(msa2(reply) == "N3");
  auto rows = rig.rows();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].ack.empty());
  CHECK(rows[1].status == queue::InboxStatus::Rejected);
  CHECK(msa2(rig.client.send(adt("N4", "AL", "AL"))) == "N4");  // still in step
}

TEST_CASE("MSH-15 ER answers only errors, SU only successes", "[hl7v2_mllp]") {
  Rig rig(kAsRequested);
  rig.client.write_raw(framed(adt("R1", "ER", "")) + framed(adt("R2", "ER", "", "")) + framed(adt("S1", "SU", "", "")) +
                       framed(adt("S2", "SU", "")));
  const std::string first = rig.client.read_reply();
  CHECK(msa1(first) == "CE");
  CHECK(msa2(first) == "R2");
  const std::string second = rig.client.read_reply();
  CHECK(msa1(second) == "CA");
  CHECK(msa2(second) == "S2");
  CHECK(rig.rows().size() == 4);
}

TEST_CASE("enhanced mode: a failed commit is answered CR 207, nothing stored, resend works", "[hl7v2_mllp][fault]") {
  Rig rig(kAsRequested);
  rig.fail_commits = 1;
  const std::string cr = rig.client.send(adt("F1", "AL", "AL"));
  CHECK(msa1(cr) == "CR");
  CHECK(msa2(cr) == "F1");
  CHECK(field_of(cr, "ERR", 3).rfind("207^", 0) == 0);
  CHECK(rig.rows().empty());
  CHECK(rig.client.connected());
  CHECK(msa1(rig.client.send(adt("F1", "AL", "AL"))) == "CA");  // same connection
  auto rows = rig.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].control_id == "F1");
}

TEST_CASE("original mode: a failed commit closes the connection without an ACK", "[hl7v2_mllp][fault]") {
  Rig rig;
  rig.fail_commits = 1;
  CHECK_THROWS_AS(rig.client.send(adt("F2")), mllp::MllpClientError);
  CHECK(rig.rows().empty());
  rig.connect();
  CHECK(msa1(rig.client.send(adt("F2"))) == "AA");
  CHECK(rig.rows().size() == 1);
}

TEST_CASE("MLLP release 2: commit block after the commit, NAK block when not stored", "[hl7v2_mllp][fault]") {
  Rig rig(R"(, "mllp_release": 2)");
  CHECK(rig.client.send(adt("M1")) == "\x06");
  CHECK(rig.client.send(adt("M2", "AL", "AL", "")) == "\x06");  // stored (as rejected): committed
  rig.fail_commits = 1;
  CHECK(rig.client.send(adt("M3")) == "\x15");
  CHECK(rig.rows().size() == 2);
  CHECK(rig.client.send(adt("M3")) == "\x06");  // resent on the same connection
  auto rows = rig.rows();
  REQUIRE(rows.size() == 3);
  CHECK(rows[2].control_id == "M3");
  // Several frames at once: one block each, in order.
  rig.fail_commits = 0;
  auto replies = rig.client.send_pipelined({adt("M4"), adt("M5"), adt("M6")});
  CHECK(replies == std::vector<std::string>{"\x06", "\x06", "\x06"});
}

TEST_CASE("a batch of 3 with one bad message: 3 rows, one ACK naming the bad one", "[hl7v2_mllp]") {
  Rig rig;
  const std::string batch = "FHS|^~\\&|EMR|MLLP_HOSP|PHRGATE|PHR|20261124101500-0500||||F77\r"
                            "BHS|^~\\&|EMR|MLLP_HOSP|PHRGATE|PHR|20261124101500-0500||||B77\r" +
                            adt("B1") + adt("B2", "", "", "") + adt("B3") + "BTS|3\rFTS|1\r";
  const std::string ack = rig.client.send(batch);
  CHECK(msa1(ack) == "AE");
  CHECK(msa2(ack) == "B77");
  CHECK(field_of(ack, "MSH", 2) == "PHRGATE");  // MSH-3: the batch's receiver answers
  CHECK(field_of(ack, "MSH", 4) == "EMR");      // MSH-5: back to the batch's sender
  CHECK(field_of(ack, "ERR", 2) == "MSH^2");
  CHECK(field_of(ack, "ERR", 3).find("message 2 (MSH-10 B2)") != std::string::npos);
  CHECK(ack.find("Testpatient") == std::string::npos);
  CHECK(ack.find("B1") == std::string::npos);
  auto rows = rig.rows();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].control_id == "B1");
  CHECK(rows[0].status == queue::InboxStatus::Pending);
  CHECK(rows[1].control_id == "B2");
  CHECK(rows[1].status == queue::InboxStatus::Rejected);
  CHECK(rows[2].status == queue::InboxStatus::Pending);
  CHECK(rows[0].payload.rfind("MSH|", 0) == 0);
  CHECK(rows[0].payload.find("BHS") == std::string::npos);
  for (const auto& r : rows) CHECK(r.ack == ack);

  // A clean batch is AA; the repeated messages are duplicates, not new rows.
  const std::string again = rig.client.send("BHS|^~\\&|EMR|MLLP_HOSP|PHRGATE|PHR|20261124||||B78\r" + adt("B1") +
                                            adt("B4") + "BTS|2\r");
  CHECK(msa1(again) == "AA");
  CHECK(msa2(again) == "B78");
  CHECK(rig.rows().size() == 4);
}

TEST_CASE("a batch whose commit fails is not acknowledged; R2 answers it NAK then ACK", "[hl7v2_mllp][fault]") {
  Rig rig(R"(, "mllp_release": 2)");
  const std::string batch = "BHS|^~\\&|EMR|MLLP_HOSP|PHRGATE|PHR|20261124||||B90\r" + adt("C1") + adt("C2") + "BTS|2\r";
  rig.fail_commits = 1;
  CHECK(rig.client.send(batch) == "\x15");
  CHECK(rig.client.send(batch) == "\x06");
  CHECK(rig.rows().size() == 2);
}
