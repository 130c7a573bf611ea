// Tests of the "hl7v2_folder" source with real temp folders, a real SQLite inbox and an
// io_context thread as in the daemon: files to rows, batches, bad messages and sidecars,
// quiet period, size limit, crash between commit and move, re-dropped files, failed
// commits, drain. Config goes through the real loader, so the schema is checked too.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "adapters/hl7v2/hl7v2_folder_source.h"
#include "gateway/core/config.h"
#include "gateway/core/metrics.h"
#include "gateway/queue/inbox.h"
#include "tests/adapters/hl7v2_folder/folder_test_support.h"
#include "tests/support/source_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing::folder_source;
using phrgate::testing::TempDir;

namespace {

std::optional<std::string> no_env(const std::string&) { return std::nullopt; }

config::AdapterConfig load_source(const std::string& source_json) {
  return testing::load_source_config(source_json);
}

// An inbox, metrics and an io_context thread, like the daemon's, plus one source.
struct Rig {
  TempDir dir;
  std::string drop = dir.file("drop");
  std::atomic<int> fail_commits{0};  // the next N inbox commits fail
  std::unique_ptr<queue::Inbox> inbox;
  metrics::Registry metrics;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread io_thread{[this] { io.run(); }};
  std::atomic<int> notified{0};
  pipeline::SourceDeps deps{io, *open_inbox(), metrics, [this] { ++notified; }};
  std::unique_ptr<pipeline::Source> source;

  queue::Inbox* open_inbox() {
    inbox = testing::open_failable_inbox(dir.file("inbox.db"), fail_commits);
    return inbox.get();
  }

  ~Rig() {
    source.reset();
    inbox->flush();
    work.reset();
    io.stop();
    io_thread.join();
  }

  // `extra`: more options, e.g. R"(, "keep_processed": false)".
  std::string source_json(const std::string& extra, int min_file_age_ms) const {
    return R"({"name": "emr-files", "type": "hl7v2_folder", "path": ")" + drop +
           R"(", "poll_interval_ms": 10, "min_file_age_ms": )" + std::to_string(min_file_age_ms) + extra + "}";
  }

  void start(const std::string& extra = "", const folder::FolderWatcherHooks& hooks = {}, int min_file_age_ms = 0) {
    source = hl7v2::make_hl7v2_folder_source(load_source(source_json(extra, min_file_age_ms)), deps, hooks);
    source->start();
  }

  int64_t counter(const std::string& name) const {
    for (const auto& [k, v] : source->status().counters)
      if (k == name) return v;
    FAIL("no counter " << name);
    return -1;
  }

  // Every row, in id order (ids are 1..n in a fresh inbox).
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

  void wait_counter(const std::string& name, int64_t value) {
    REQUIRE(wait_until([&] { return counter(name) >= value; }));
    CHECK(counter(name) == value);
  }
  void wait_scans(int n = 3) {
    int64_t target = counter("scans") + n;
    REQUIRE(wait_until([&] { return counter("scans") >= target; }));
  }
};

}  // namespace

TEST_CASE("hl7v2_folder: a file of three messages becomes three committed rows, then moves", "[folder]") {
  Rig rig;
  rig.start();
  drop_file(rig.drop, "three.hl7", adt("F-1", "MRN-1") + oru("F-2", "MRN-1") + "\n" + adt("F-3", "MRN-2", "ADT^A08"));
  rig.wait_counter("files_processed", 1);
  CHECK(exists(rig.drop + "/processed/three.hl7"));
  CHECK_FALSE(exists(rig.drop + "/three.hl7"));
  auto rows = rig.rows();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].control_id == "F-1");
  CHECK(rows[0].sender == "EMR|FOLDER_HOSP");
  CHECK(rows[0].source == "emr-files");
  CHECK(rows[0].content_type == "application/hl7-v2");
  CHECK(rows[0].message_type == "ADT^A01");
  CHECK(rows[1].message_type == "ORU^R01");
  CHECK(rows[2].control_id == "F-3");
  for (const auto& r : rows) CHECK(r.status == queue::InboxStatus::Pending);
  CHECK(rows[0].payload == adt("F-1", "MRN-1"));
  CHECK(rig.counter("messages_committed") == 3);
  CHECK(rig.notified > 0);
  std::string m = rig.metrics.render();
  CHECK(m.find("phrgate_messages_received_total{source=\"emr-files\"} 3") != std::string::npos);
  CHECK(m.find("phrgate_messages_acknowledged_total{source=\"emr-files\"} 3") != std::string::npos);
}

TEST_CASE("hl7v2_folder: an FHS/BHS batch file is split into its messages", "[folder]") {
  Rig rig;
  rig.start();
  std::string batch = cr("FHS|^~\\&|EMR|FOLDER_HOSP|||20261124\nBHS|^~\\&|EMR|FOLDER_HOSP|||20261124\n") +
                      adt("B-1", "MRN-1") + oru("B-2", "MRN-1") + cr("BTS|2\nFTS|1\n");
  drop_file(rig.drop, "batch.hl7", batch);
  rig.wait_counter("files_processed", 1);
  auto rows = rig.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].control_id == "B-1");
  CHECK(rows[1].control_id == "B-2");
  CHECK(rows[1].payload.find("BTS") == std::string::npos);
  CHECK(exists(rig.drop + "/processed/batch.hl7"));
}

TEST_CASE("hl7v2_folder: bad messages among good ones send the file to failed/ with a sidecar", "[folder]") {
  Rig rig;
  rig.start();
  std::string file = adt("G-1", "MRN-SECRET-1") +
                     adt("G-2", "MRN-SECRET-2", "BAR^P01") +                           // unsupported type
                     cr("MSH|^~\\&|EMR|FOLDER_HOSP|||20261124||ADT^A01||P|2.5.1\nPID|1||MRN-SECRET-3\n") +  // no MSH-10
                     oru("G-4", "MRN-SECRET-1");
  drop_file(rig.drop, "mixed.hl7", file);
  rig.wait_counter("files_failed", 1);
  CHECK(exists(rig.drop + "/failed/mixed.hl7"));
  CHECK(slurp(rig.drop + "/failed/mixed.hl7") == file);  // the original, byte for byte
  std::string why = slurp(rig.drop + "/failed/mixed.hl7.error.txt");
  CHECK(why.find("message 2 (MSH-10 \"G-2\"): rejected: unsupported message type in MSH-9") != std::string::npos);
  CHECK(why.find("message 3 (MSH-10 unreadable): rejected: HL7 v2 parse error") != std::string::npos);
  CHECK(why.find("message 1 ") == std::string::npos);
  CHECK(why.find("committed: 2") != std::string::npos);
  CHECK(why.find("MRN-SECRET") == std::string::npos);  // never message content
  CHECK(why.find("Filetest") == std::string::npos);

  auto rows = rig.rows();
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].status == queue::InboxStatus::Pending);
  CHECK(rows[1].status == queue::InboxStatus::Rejected);
  CHECK(rows[1].error == "unsupported message type in MSH-9");
  CHECK(rows[2].status == queue::InboxStatus::Rejected);
  CHECK(rows[2].control_id.rfind("sha256:", 0) == 0);
  CHECK(rows[3].status == queue::InboxStatus::Pending);
  CHECK(rig.counter("messages_committed") == 2);
  CHECK(rig.counter("messages_rejected") == 2);

  SECTION("dropping the same bad file again stores nothing twice") {
    drop_file(rig.drop, "mixed.hl7", file);
    rig.wait_counter("files_failed", 2);
    CHECK(rig.rows().size() == 4);
    CHECK(exists(rig.drop + "/failed/mixed-1.hl7.error.txt"));
    CHECK(rig.counter("messages_duplicate") == 2);
  }
}

TEST_CASE("hl7v2_folder: empty files, files without MSH and stray lines go to failed/", "[folder]") {
  Rig rig;
  rig.start();
  drop_file(rig.drop, "empty.hl7", "");
  drop_file(rig.drop, "notes.txt", "this is not HL7\r\n");
  drop_file(rig.drop, "stray.hl7", "garbage line\r" + adt("S-1", "MRN-1"));
  rig.wait_counter("files_failed", 3);
  CHECK(slurp(rig.drop + "/failed/empty.hl7.error.txt").find("file is empty") != std::string::npos);
  CHECK(slurp(rig.drop + "/failed/notes.txt.error.txt").find("no line starts with MSH") != std::string::npos);
  std::string why = slurp(rig.drop + "/failed/stray.hl7.error.txt");
  CHECK(why.find("1 line(s) outside any MSH message were ignored (first at line 1)") != std::string::npos);
  CHECK(why.find("garbage") == std::string::npos);
  auto rows = rig.rows();
  REQUIRE(rows.size() == 1);  // the good message of stray.hl7 is committed all the same
  CHECK(rows[0].control_id == "S-1");
}

TEST_CASE("hl7v2_folder: a young file is not taken until it has been still long enough", "[folder]") {
  Rig rig;
  std::atomic<int64_t> now_ms{0};
  folder::FolderWatcherHooks hooks;
  hooks.clock = [&] { return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms.load())); };
  rig.start("", hooks, 1000);
  std::string full = adt("Y-1", "MRN-1");
  {
    std::ofstream out(rig.drop + "/young.hl7", std::ios::binary);
    out << full.substr(0, 40);  // the EMR is half way through writing it
  }
  rig.wait_scans();
  now_ms = 999;
  rig.wait_scans();
  CHECK(rig.rows().empty());
  {
    std::ofstream out(rig.drop + "/young.hl7", std::ios::binary | std::ios::app);
    out << full.substr(40);
  }
  rig.wait_scans();
  now_ms = 1500;
  rig.wait_scans();
  CHECK(rig.rows().empty());
  CHECK(rig.counter("files_waiting") == 1);
  now_ms = 2000;
  rig.wait_counter("files_processed", 1);
  auto rows = rig.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].payload == full);
}

TEST_CASE("hl7v2_folder: a file over max_file_bytes goes to failed/ unread", "[folder]") {
  Rig rig;
  rig.start(R"(, "max_file_bytes": 1024)");
  std::string big;
  for (int i = 0; big.size() <= 1024; ++i) big += adt("H-" + std::to_string(i), "MRN-1");
  drop_file(rig.drop, "huge.hl7", big);
  rig.wait_counter("files_failed", 1);
  CHECK(slurp(rig.drop + "/failed/huge.hl7.error.txt").find("larger than max_file_bytes") != std::string::npos);
  CHECK(rig.rows().empty());
}

TEST_CASE("hl7v2_folder: processed/, failed/ and ignored names are never read", "[folder]") {
  Rig rig;
  std::filesystem::create_directories(rig.drop + "/processed");
  std::filesystem::create_directories(rig.drop + "/failed");
  drop_file(rig.drop + "/processed", "old.hl7", adt("P-1", "MRN-1"));
  drop_file(rig.drop + "/failed", "bad.hl7", adt("P-2", "MRN-1"));
  {
    std::ofstream out(rig.drop + "/writing.hl7.tmp", std::ios::binary);
    out << adt("P-3", "MRN-1");
  }
  rig.start();
  rig.wait_scans(5);
  CHECK(rig.rows().empty());
  CHECK(rig.counter("files_processed") == 0);
  CHECK(exists(rig.drop + "/writing.hl7.tmp"));
}

TEST_CASE("hl7v2_folder: a crash after the commit and before the move: restart gives duplicates, no new rows",
          "[folder][fault]") {
  Rig rig;
  const std::string file = adt("C-1", "MRN-1") + adt("C-2", "MRN-1") + oru("C-3", "MRN-1");
  drop_file(rig.drop, "crash.hl7", file);
  std::atomic<int> moves_refused{0};
  folder::FolderWatcherHooks dying;
  dying.before_move = [&](const std::string&) {
    ++moves_refused;
    return false;  // "killed" between the commit and the rename
  };
  rig.start("", dying);
  REQUIRE(wait_until([&] { return moves_refused >= 1; }));
  rig.source.reset();  // the process is gone; the file is still in the folder
  CHECK(exists(rig.drop + "/crash.hl7"));
  REQUIRE(rig.rows().size() == 3);

  rig.start();  // restart
  rig.wait_counter("files_processed", 1);
  CHECK(exists(rig.drop + "/processed/crash.hl7"));
  CHECK(rig.counter("messages_duplicate") == 3);
  CHECK(rig.counter("messages_committed") == 0);
  auto rows = rig.rows();
  CHECK(rows.size() == 3);
  for (const auto& r : rows) CHECK(r.status == queue::InboxStatus::Pending);
}

TEST_CASE("hl7v2_folder: a file dropped again later is committed as duplicates and still moved", "[folder]") {
  Rig rig;
  rig.start();
  const std::string file = adt("R-1", "MRN-1") + adt("R-2", "MRN-1");
  drop_file(rig.drop, "again.hl7", file);
  rig.wait_counter("files_processed", 1);
  drop_file(rig.drop, "again.hl7", file);
  rig.wait_counter("files_processed", 2);
  CHECK(exists(rig.drop + "/processed/again.hl7"));
  CHECK(exists(rig.drop + "/processed/again-1.hl7"));
  CHECK_FALSE(exists(rig.drop + "/again.hl7"));
  CHECK(rig.rows().size() == 2);
  CHECK(rig.counter("messages_committed") == 2);
  CHECK(rig.counter("messages_duplicate") == 2);
}

TEST_CASE("hl7v2_folder: a failed commit leaves the file in place and the next poll commits it", "[folder][fault]") {
  Rig rig;
  rig.fail_commits = 2;
  rig.start();
  drop_file(rig.drop, "disk.hl7", adt("D-1", "MRN-1") + adt("D-2", "MRN-1"));
  rig.wait_counter("files_processed", 1);
  CHECK(rig.counter("files_retried") >= 1);
  CHECK(rig.counter("commit_failures") >= 1);
  CHECK(exists(rig.drop + "/processed/disk.hl7"));
  auto rows = rig.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].control_id == "D-1");
  CHECK(rows[1].control_id == "D-2");
}

TEST_CASE("hl7v2_folder: keep_processed=false deletes the file after the commit", "[folder]") {
  Rig rig;
  rig.start(R"(, "keep_processed": false)");
  drop_file(rig.drop, "once.hl7", adt("K-1", "MRN-1"));
  rig.wait_counter("files_processed", 1);
  CHECK_FALSE(exists(rig.drop + "/once.hl7"));
  CHECK_FALSE(exists(rig.drop + "/processed/once.hl7"));
  CHECK(rig.rows().size() == 1);
}

TEST_CASE("hl7v2_folder: after stop_accepting and drain no new file is taken", "[folder]") {
  Rig rig;
  rig.start();
  drop_file(rig.drop, "first.hl7", adt("T-1", "MRN-1"));
  rig.wait_counter("files_processed", 1);
  rig.source->stop_accepting();
  rig.source->drain(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  const int64_t scans = rig.counter("scans");
  drop_file(rig.drop, "late.hl7", adt("T-2", "MRN-1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // three poll intervals
  CHECK(rig.counter("scans") == scans);
  CHECK(exists(rig.drop + "/late.hl7"));
  CHECK(rig.rows().size() == 1);
}

TEST_CASE("hl7v2_folder: the schema rejects unknown keys and a missing path", "[folder]") {
  auto r = config::load_config_text(
      testing::config_with_source(R"({"name": "f", "type": "hl7v2_folder", "path": "/x", "colour": "red"},
                     {"name": "g", "type": "hl7v2_folder"},
                     {"name": "h", "type": "hl7v2_folder", "path": "/y", "keep_processed": "yes"})"),
      no_env);
  CHECK_FALSE(r.config);
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  CHECK(all.find("sources[0]") != std::string::npos);
  CHECK(all.find("colour") != std::string::npos);
  CHECK(all.find("sources[1]") != std::string::npos);
  CHECK(all.find("sources[2].keep_processed") != std::string::npos);
}
