// Tests of the SQLite inbox's behaviour on real files in a temp dir: durability across reopen,
// dedup (across and within group commits), rejected rows, hand-out of pending rows to
// concurrent workers, complete/release, stats, and many concurrent submitters.
// Fault and crash tests are in test_sqlite_inbox_faults.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <set>
#include <thread>

#include "gateway/core/sqlite_db.h"
#include "tests/gateway/queue/inbox_test_util.h"

using namespace phrgate::queue;
using namespace phrgate::queue::testing;

namespace {

SqliteInboxOptions options_for(const TempDir& dir) {
  SqliteInboxOptions o;
  o.path = dir.file("inbox.db");
  return o;
}

// Blocks the committer thread inside a callback until open() is called, so that everything
// submitted meanwhile lands in one group commit.
class Gate {
 public:
  Inbox::SubmitCallback blocker() {
    return [this](SubmitResult, int64_t) {
      std::unique_lock<std::mutex> lock(mutex_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    };
  }
  void wait_entered() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  bool entered_ = false;
};

}  // namespace

TEST_CASE("committed rows survive reopen with every column", "[inbox]") {
  TempDir dir;
  const std::string payload("MSH|\x00\xff\r\nPID|", 13);  // binary-safe: NUL, 0xff, CR LF
  int64_t id = 0;
  {
    auto inbox = open_sqlite_inbox(options_for(dir));
    InboxMessage m = make_message("CTRL-1", "EPIC^HOSP_A", payload);
    m.ack = "MSA|AA|CTRL-1";
    auto [result, row_id] = submit_and_wait(*inbox, m);
    REQUIRE(result == SubmitResult::Committed);
    REQUIRE(row_id > 0);
    id = row_id;
  }
  auto inbox = open_sqlite_inbox(options_for(dir));
  auto row = inbox->get(id);
  REQUIRE(row.has_value());
  CHECK(row->source == "emr-adt");
  CHECK(row->sender == "EPIC^HOSP_A");
  CHECK(row->control_id == "CTRL-1");
  CHECK(row->message_type == "ADT^A01");
  CHECK(row->content_type == "application/hl7-v2");
  CHECK(row->payload == payload);
  CHECK(row->status == InboxStatus::Pending);
  CHECK(row->ack == "MSA|AA|CTRL-1");
  CHECK(row->received_at_ms > 0);
  CHECK_FALSE(row->completed_at_ms.has_value());
  CHECK(row->attempts == 0);
  CHECK_FALSE(inbox->get(id + 1000).has_value());
  CHECK(inbox->stats().pending == 1);
}

TEST_CASE("a newer schema version is refused", "[inbox]") {
  TempDir dir;
  { open_sqlite_inbox(options_for(dir)); }
  {
    phrgate::sqlite::Db db(dir.file("inbox.db"));
    db.exec("PRAGMA user_version = 99");
  }
  CHECK_THROWS(open_sqlite_inbox(options_for(dir)));
}

TEST_CASE("repeats of (sender, control_id) are Duplicate across batches", "[inbox]") {
  TempDir dir;
  auto inbox = open_sqlite_inbox(options_for(dir));
  auto first = submit_and_wait(*inbox, make_message("C1"));
  auto again = submit_and_wait(*inbox, make_message("C1"));
  auto other_sender = submit_and_wait(*inbox, make_message("C1", "OTHER^HOSP_B"));
  auto no_key_1 = submit_and_wait(*inbox, make_message(""));
  auto no_key_2 = submit_and_wait(*inbox, make_message(""));
  CHECK(first.first == SubmitResult::Committed);
  CHECK(again.first == SubmitResult::Duplicate);
  CHECK(again.second == first.second);
  CHECK(other_sender.first == SubmitResult::Committed);
  CHECK(no_key_1.first == SubmitResult::Committed);  // empty control id: no dedup key
  CHECK(no_key_2.first == SubmitResult::Committed);
  CHECK(no_key_1.second != no_key_2.second);
  CHECK(inbox->stats().pending == 4);
}

TEST_CASE("repeats within one group commit are Duplicate", "[inbox]") {
  TempDir dir;
  auto inbox = open_sqlite_inbox(options_for(dir));
  Gate gate;
  inbox->submit(make_message("HOLD"), gate.blocker());  // holds the committer after commit
  gate.wait_entered();
  Recorder rec;
  inbox->submit(make_message("SAME"), rec.callback());
  inbox->submit(make_message("SAME"), rec.callback());
  inbox->submit(make_message("SAME"), rec.callback());
  inbox->submit(make_message("HOLD"), rec.callback());  // duplicate of the committed one
  gate.open();
  inbox->flush();
  auto r = rec.results();
  REQUIRE(r.size() == 4);
  CHECK(r[0].first == SubmitResult::Committed);
  CHECK(r[1] == std::make_pair(SubmitResult::Duplicate, r[0].second));
  CHECK(r[2] == std::make_pair(SubmitResult::Duplicate, r[0].second));
  CHECK(r[3].first == SubmitResult::Duplicate);
  CHECK(inbox->stats().pending == 2);
}

TEST_CASE("rejected rows are kept with their error and never pending", "[inbox]") {
  TempDir dir;
  auto inbox = open_sqlite_inbox(options_for(dir));
  InboxMessage bad = make_message("BAD-1");
  bad.status = InboxStatus::Rejected;
  bad.error = "MSH segment missing";
  auto [result, id] = submit_and_wait(*inbox, bad);
  REQUIRE(result == SubmitResult::Committed);
  submit_and_wait(*inbox, make_message("GOOD-1"));

  auto row = inbox->get(id);
  REQUIRE(row);
  CHECK(row->status == InboxStatus::Rejected);
  CHECK(row->error == "MSH segment missing");
  auto pending = inbox->fetch_pending(10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].control_id == "GOOD-1");
  auto stats = inbox->stats();
  CHECK(stats.rejected == 1);
  CHECK(stats.pending == 1);

  InboxMessage done = make_message("X");
  done.status = InboxStatus::Done;
  CHECK_THROWS_AS(inbox->submit(done, nullptr), std::invalid_argument);
}

TEST_CASE("fetch_pending returns oldest first and never the same row twice", "[inbox]") {
  TempDir dir;
  auto inbox = open_sqlite_inbox(options_for(dir));
  constexpr int kRows = 300;
  for (int i = 0; i < kRows; ++i) inbox->submit(make_message("C" + std::to_string(i)), nullptr);
  inbox->flush();

  SECTION("one worker: arrival order, then nothing left") {
    auto first = inbox->fetch_pending(5);
    REQUIRE(first.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(first[i].control_id == "C" + std::to_string(i));
    auto rest = inbox->fetch_pending(1000);
    CHECK(rest.size() == kRows - 5);
    CHECK(std::is_sorted(rest.begin(), rest.end(),
                         [](const PendingRow& a, const PendingRow& b) { return a.id < b.id; }));
    CHECK(rest.front().id > first.back().id);
    CHECK(inbox->fetch_pending(10).empty());
  }
  SECTION("two workers share the rows without overlap") {
    std::vector<int64_t> got[2];
    auto worker = [&](int w) {
      for (;;) {
        auto rows = inbox->fetch_pending(7);
        if (rows.empty()) return;
        for (auto& r : rows) got[w].push_back(r.id);
      }
    };
    std::thread a(worker, 0), b(worker, 1);
    a.join();
    b.join();
    std::set<int64_t> all(got[0].begin(), got[0].end());
    all.insert(got[1].begin(), got[1].end());
    CHECK(got[0].size() + got[1].size() == kRows);
    CHECK(all.size() == kRows);
  }
}

TEST_CASE("complete and release", "[inbox]") {
  TempDir dir;
  auto options = options_for(dir);
  std::vector<PendingRow> rows;
  {
    auto inbox = open_sqlite_inbox(options);
    for (int i = 0; i < 4; ++i) inbox->submit(make_message("C" + std::to_string(i)), nullptr);
    inbox->flush();
    rows = inbox->fetch_pending(4);
    REQUIRE(rows.size() == 4);
    inbox->complete(rows[0].id, InboxStatus::Done, "", "maps-2024.1");
    inbox->complete(rows[1].id, InboxStatus::Failed, "no mapping for code system", "maps-2024.1");
    inbox->release(rows[2].id);
    // rows[3] stays handed out; a released row comes back with its attempt counted.
    auto again = inbox->fetch_pending(10);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == rows[2].id);
    CHECK(again[0].attempts == 1);
    // Completing a row that is no longer pending changes nothing.
    inbox->complete(rows[0].id, InboxStatus::Failed, "late", "x");
    CHECK_THROWS_AS(inbox->complete(rows[3].id, InboxStatus::Pending, "", ""),
                    std::invalid_argument);
    auto stats = inbox->stats();
    CHECK(stats.pending == 2);
    CHECK(stats.done == 1);
    CHECK(stats.failed == 1);
  }
  auto inbox = open_sqlite_inbox(options);  // completions were durable; counts reload
  auto done = inbox->get(rows[0].id);
  REQUIRE(done);
  CHECK(done->status == InboxStatus::Done);
  CHECK(done->mapping_version == "maps-2024.1");
  CHECK(done->completed_at_ms.has_value());
  CHECK(done->attempts == 1);
  auto failed = inbox->get(rows[1].id);
  REQUIRE(failed);
  CHECK(failed->status == InboxStatus::Failed);
  CHECK(failed->error == "no mapping for code system");
  auto stats = inbox->stats();
  CHECK(stats.pending == 2);
  CHECK(stats.done == 1);
  CHECK(stats.failed == 1);
  // After a restart nothing is handed out: both pending rows come back, oldest first.
  auto pending = inbox->fetch_pending(10);
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].id == rows[2].id);
  CHECK(pending[1].id == rows[3].id);
}

TEST_CASE("complete_many and set_ack", "[inbox]") {
  TempDir dir;
  auto inbox = open_sqlite_inbox(options_for(dir));
  for (int i = 0; i < 50; ++i) inbox->submit(make_message("C" + std::to_string(i)), nullptr);
  inbox->flush();
  auto rows = inbox->fetch_pending(50);
  REQUIRE(rows.size() == 50);
  inbox->set_ack(rows[0].id, "MSH|^~\\&|...\rMSA|AA|C0");
  std::vector<Completion> completions;
  for (auto& r : rows) completions.push_back({r.id, InboxStatus::Done, "", "v1"});
  inbox->complete_many(completions);
  auto stats = inbox->stats();
  CHECK(stats.pending == 0);
  CHECK(stats.done == 50);
  CHECK(stats.oldest_pending_age_s == 0);
  auto row = inbox->get(rows[0].id);
  REQUIRE(row);
  CHECK(row->ack == "MSH|^~\\&|...\rMSA|AA|C0");  // complete_many was durable after the ack
  CHECK(inbox->fetch_pending(10).empty());
}

TEST_CASE("stats count statuses and age the oldest pending row", "[inbox]") {
  TempDir dir;
  auto inbox = open_sqlite_inbox(options_for(dir));
  CHECK(inbox->stats().pending == 0);
  CHECK(inbox->stats().oldest_pending_age_s == 0);
  for (int i = 0; i < 3; ++i) inbox->submit(make_message("C" + std::to_string(i)), nullptr);
  InboxMessage bad = make_message("R1");
  bad.status = InboxStatus::Rejected;
  bad.error = "unsupported message type";
  inbox->submit(bad, nullptr);
  inbox->flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto stats = inbox->stats();
  CHECK(stats.pending == 3);
  CHECK(stats.rejected == 1);
  CHECK(stats.done == 0);
  CHECK(stats.oldest_pending_age_s > 0);
}

TEST_CASE("8 threads x 2000 submits are each committed exactly once", "[inbox]") {
  TempDir dir;
  auto options = options_for(dir);
  constexpr int kThreads = 8, kPerThread = 2000;
  std::mutex mutex;
  std::vector<int64_t> ids;
  std::atomic<int> failures{0};
  {
    auto inbox = open_sqlite_inbox(options);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto msg = make_message("T" + std::to_string(t) + "-" + std::to_string(i));
          inbox->submit(std::move(msg), [&](SubmitResult r, int64_t id) {
            if (r != SubmitResult::Committed) ++failures;
            std::lock_guard<std::mutex> lock(mutex);
            ids.push_back(id);
          });
        }
      });
    }
    for (auto& t : threads) t.join();
    inbox->flush();
    CHECK(inbox->stats().pending == kThreads * kPerThread);
  }
  CHECK(failures == 0);
  REQUIRE(ids.size() == kThreads * kPerThread);
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  phrgate::sqlite::Db db(options.path, true);
  phrgate::sqlite::Stmt count(db, "SELECT count(*), count(DISTINCT control_id) FROM inbox");
  REQUIRE(count.step());
  CHECK(count.column_int(0) == kThreads * kPerThread);
  CHECK(count.column_int(1) == kThreads * kPerThread);
}

TEST_CASE("background checkpoints keep the WAL bounded while commits skip them", "[inbox]") {
  TempDir dir;
  auto o = options_for(dir);
  o.checkpoint_interval = std::chrono::milliseconds(10);
  auto inbox = open_sqlite_inbox(o);
  // 32 MB of payload: with automatic checkpoints off and no background checkpointer, the
  // WAL would hold all of it.
  const std::string payload(8192, 'x');
  int n = 0;
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 500; ++i) {
      auto m = make_message("CKPT-" + std::to_string(n++));
      m.payload = payload;
      inbox->submit(std::move(m), [](SubmitResult, int64_t) {});
    }
    inbox->flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  auto wal = std::filesystem::file_size(dir.file("inbox.db-wal"));
  INFO("wal bytes: " << wal);
  CHECK(wal < 16u * 1024 * 1024);
  CHECK(inbox->stats().pending == 4000);
}

TEST_CASE("the inbox committer's checkpoints keep the WAL bounded", "[inbox]") {
  TempDir dir;
  auto o = options_for(dir);
  o.checkpoint_frames = 256;  // about 1 MB
  auto inbox = open_sqlite_inbox(o);
  // 32 MB of payload in batches of at most 500 rows (4 MB): without checkpoints the WAL would
  // hold all of it; with them it holds about one batch past the mark.
  const std::string payload(8192, 'x');
  int n = 0;
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 500; ++i) {
      auto m = make_message("WALCAP-" + std::to_string(n++));
      m.payload = payload;
      inbox->submit(std::move(m), [](SubmitResult, int64_t) {});
    }
    inbox->flush();
  }
  auto wal = std::filesystem::file_size(dir.file("inbox.db-wal"));
  INFO("wal bytes: " << wal);
  CHECK(wal < 12u * 1024 * 1024);
  CHECK(inbox->stats().pending == 4000);
  inbox.reset();
  phrgate::sqlite::Db db(o.path, true);
  phrgate::sqlite::Stmt count(db, "SELECT count(*) FROM inbox");
  REQUIRE(count.step());
  CHECK(count.column_int(0) == 4000);
}
