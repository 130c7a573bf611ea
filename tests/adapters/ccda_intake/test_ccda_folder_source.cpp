// Tests of the "ccda_folder" source with real temp folders, a real SQLite inbox and an
// io_context thread as in the daemon: one row per document then the move to processed/,
// bad documents to failed/ with a sidecar and a rejected row, re-dropped documents as
// duplicates, a crash between commit and move, failed commits (file left in place).
// Config goes through the real loader, so schemas/sources/ccda_folder.schema.json applies.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "adapters/ccda/ccda_folder_source.h"
#include "gateway/core/config.h"
#include "gateway/core/metrics.h"
#include "gateway/core/resource_id.h"
#include "gateway/queue/inbox.h"
#include "tests/adapters/ccda_intake/ccda_test_documents.h"
#include "tests/adapters/hl7v2_folder/folder_test_support.h"
#include "tests/support/source_test_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::testing::folder_source;
using phrgate::testing::TempDir;
namespace docs = phrgate::testing::ccda_docs;

namespace {

struct Rig {
  TempDir dir;
  std::string drop = dir.file("drop");
  std::atomic<int> fail_commits{0};
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

  void start(const std::string& extra = "", const folder::FolderWatcherHooks& hooks = {}) {
    std::string json = R"({"name": "emr-ccda", "type": "ccda_folder", "path": ")" + drop +
                       R"(", "poll_interval_ms": 10, "min_file_age_ms": 0)" + extra + "}";
    source = ccda::make_ccda_folder_source(testing::load_source_config(json), deps, hooks);
    source->start();
  }

  int64_t counter(const std::string& name) const {
    for (const auto& [k, v] : source->status().counters)
      if (k == name) return v;
    FAIL("no counter " << name);
    return -1;
  }
  void wait_counter(const std::string& name, int64_t value) {
    REQUIRE(wait_until([&] { return counter(name) >= value; }));
    CHECK(counter(name) == value);
  }
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

}  // namespace

TEST_CASE("ccda_folder: each document becomes one committed row, then moves to processed/", "[ccda_folder]") {
  Rig rig;
  rig.start();
  const std::string a = docs::ccd("F-1", "MRN-A"), b = docs::ccd("F-2", "MRN-B");
  drop_file(rig.drop, "a.xml", a);
  drop_file(rig.drop, "b.ccda", b);
  rig.wait_counter("files_processed", 2);
  CHECK(exists(rig.drop + "/processed/a.xml"));
  CHECK(exists(rig.drop + "/processed/b.ccda"));
  CHECK_FALSE(exists(rig.drop + "/a.xml"));
  auto rows = rig.rows();
  REQUIRE(rows.size() == 2);
  for (const auto& r : rows) {
    CHECK(r.status == queue::InboxStatus::Pending);
    CHECK(r.source == "emr-ccda");
    CHECK(r.content_type == "application/cda+xml");
    CHECK(r.message_type == "CCDA^34133-9");
    CHECK(r.sender == "2.16.840.1.113883.19.5.99999^INTAKE-HOSP");
  }
  CHECK((rows[0].payload == a || rows[0].payload == b));
  CHECK(rig.counter("documents_committed") == 2);
  CHECK(rig.notified == 2);
}

TEST_CASE("ccda_folder: a bad document goes to failed/ with a sidecar and a rejected row", "[ccda_folder]") {
  Rig rig;
  rig.start();
  drop_file(rig.drop, "xxe.xml", docs::xxe());
  drop_file(rig.drop, "hl7.xml", docs::not_xml());
  drop_file(rig.drop, "other.xml", docs::wrong_namespace());
  rig.wait_counter("files_failed", 3);
  for (const char* name : {"xxe.xml", "hl7.xml", "other.xml"}) {
    INFO(name);
    CHECK(exists(rig.drop + "/failed/" + name));
    std::string sidecar = slurp(rig.drop + "/failed/" + name + ".error.txt");
    CHECK(sidecar.find("rejected: ") != std::string::npos);
    CHECK(sidecar.find("passwd") == std::string::npos);
  }
  auto rows = rig.rows();
  REQUIRE(rows.size() == 3);
  for (const auto& r : rows) {
    CHECK(r.status == queue::InboxStatus::Rejected);
    CHECK_FALSE(r.error.empty());
    CHECK(r.control_id == "sha256:" + sha256_hex(r.payload));
  }
  CHECK(rig.counter("documents_rejected") == 3);
  CHECK(rig.notified == 0);
}

TEST_CASE("ccda_folder: a document dropped again is a duplicate, and a custom sender applies", "[ccda_folder]") {
  Rig rig;
  rig.start(R"(, "sender": "FOLDER-EMR", "keep_processed": false)");
  std::string no_custodian = docs::ccd("F-3");
  auto from = no_custodian.find("<custodian>"), to = no_custodian.find("</custodian>");
  no_custodian.erase(from, to + 12 - from);
  drop_file(rig.drop, "one.xml", no_custodian);
  rig.wait_counter("files_processed", 1);
  drop_file(rig.drop, "one-again.xml", no_custodian);
  rig.wait_counter("files_processed", 2);
  CHECK_FALSE(exists(rig.drop + "/processed/one.xml"));  // keep_processed: false deletes
  auto rows = rig.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].sender == "FOLDER-EMR");
  CHECK(rig.counter("documents_duplicate") == 1);
}

TEST_CASE("ccda_folder: a crash between commit and move re-reads the file as a duplicate", "[ccda_folder][fault]") {
  std::atomic<bool> crash{true};
  Rig rig;
  folder::FolderWatcherHooks hooks;
  hooks.before_move = [&crash](const std::string&) { return !crash.load(); };
  rig.start("", hooks);
  drop_file(rig.drop, "doc.xml", docs::ccd("F-4"));
  REQUIRE(wait_until([&] { return rig.counter("documents_committed") == 1; }));
  CHECK(exists(rig.drop + "/doc.xml"));  // the "crash": not moved
  crash = false;
  rig.wait_counter("files_processed", 1);
  CHECK(exists(rig.drop + "/processed/doc.xml"));
  CHECK(rig.rows().size() == 1);
}

TEST_CASE("ccda_folder: a failed commit leaves the file in place until the next poll commits it", "[ccda_folder][fault]") {
  Rig rig;
  rig.fail_commits = 2;
  rig.start();
  drop_file(rig.drop, "doc.xml", docs::ccd("F-5"));
  rig.wait_counter("files_processed", 1);
  CHECK(rig.counter("commit_failures") == 2);
  CHECK(exists(rig.drop + "/processed/doc.xml"));
  auto rows = rig.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].status == queue::InboxStatus::Pending);
}

TEST_CASE("ccda_folder: the schema rejects unknown options", "[ccda_folder]") {
  CHECK_THROWS(testing::load_source_config(R"({"name": "x", "type": "ccda_folder", "path": "/tmp/x", "bogus": 1})"));
  CHECK_NOTHROW(testing::load_source_config(
      R"({"name": "x", "type": "ccda_folder", "path": "/tmp/x", "xsd": "/s/CDA_SDTC.xsd", "default_timezone": "-05:00"})"));
}
