// The inbox's message browser and operators' writes on real SQLite files: every filter and
// keyset paging (stable while rows arrive), patient search, delivery attempts, discard,
// requeue of rejected rows, retention (never pending rows, batches, side tables, incremental
// vacuum) and the migration of a schema v1 file.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "gateway/core/metrics.h"
#include "gateway/core/sqlite_db.h"
#include "gateway/queue/retention.h"
#include "tests/gateway/queue/inbox_test_util.h"

using namespace phrgate::queue;
using namespace phrgate::queue::testing;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Inbox> open_at(const std::string& path) {
  SqliteInboxOptions o;
  o.path = path;
  return open_sqlite_inbox(o);
}

InboxMessage message(std::string control_id, std::string sender, std::string type, std::string source) {
  InboxMessage m = make_message(std::move(control_id), std::move(sender));
  m.message_type = std::move(type);
  m.source = std::move(source);
  return m;
}

std::vector<int64_t> ids_of(const MessagePage& page) {
  std::vector<int64_t> out;
  for (const auto& r : page.rows) out.push_back(r.id);
  return out;
}

// Every page of `filter`, following the cursor.
std::vector<int64_t> all_pages(Inbox& inbox, MessageFilter filter) {
  std::vector<int64_t> out;
  for (;;) {
    MessagePage page = inbox.query(filter);
    for (const auto& r : page.rows) out.push_back(r.id);
    if (!page.has_more) return out;
    filter.after_received_ms = page.rows.back().received_at_ms;
    filter.after_id = page.rows.back().id;
  }
}

// Rows 1..30 over three senders, two types, two sources; newest first = descending ids.
struct Seeded {
  TempDir dir;
  std::unique_ptr<Inbox> inbox = open_at(dir.file("inbox.db"));
  std::vector<int64_t> ids;
  Seeded() {
    for (int i = 0; i < 30; ++i) {
      std::string sender = i % 3 == 0 ? "LAB^A" : i % 3 == 1 ? "EPIC^B" : "CERNER^C";
      std::string type = i % 2 == 0 ? "ORU^R01" : "ADT^A01";
      ids.push_back(submit_and_wait(*inbox, message("C" + std::to_string(i), sender, type,
                                                    i < 20 ? "emr" : "lab")).second);
    }
  }
  std::vector<int64_t> expected(const std::function<bool(int)>& keep) const {
    std::vector<int64_t> out;
    for (int i = 29; i >= 0; --i)
      if (keep(i)) out.push_back(ids[static_cast<std::size_t>(i)]);
    return out;
  }
};

}  // namespace

TEST_CASE("browser: each filter, newest first, and keyset paging", "[browser]") {
  Seeded s;
  MessageFilter all;
  all.limit = 7;
  CHECK(all_pages(*s.inbox, all) == s.expected([](int) { return true; }));

  MessageFilter by_sender;
  by_sender.sender = "EPIC^B";
  CHECK(all_pages(*s.inbox, by_sender) == s.expected([](int i) { return i % 3 == 1; }));
  MessageFilter by_type;
  by_type.message_type = "ADT^A01";
  by_type.limit = 4;
  CHECK(all_pages(*s.inbox, by_type) == s.expected([](int i) { return i % 2 == 1; }));
  MessageFilter by_source;
  by_source.source = "lab";
  CHECK(all_pages(*s.inbox, by_source) == s.expected([](int i) { return i >= 20; }));
  MessageFilter by_control;
  by_control.control_id = "C7";
  CHECK(all_pages(*s.inbox, by_control) == s.expected([](int i) { return i == 7; }));
  MessageFilter combined;
  combined.sender = "LAB^A";
  combined.message_type = "ORU^R01";
  combined.source = "emr";
  combined.limit = 2;
  CHECK(all_pages(*s.inbox, combined) == s.expected([](int i) { return i % 3 == 0 && i % 2 == 0 && i < 20; }));

  // Status: complete rows 0..9 as done, 10..14 as failed.
  std::vector<Completion> completions;
  for (int i = 0; i < 15; ++i)
    completions.push_back({s.ids[static_cast<std::size_t>(i)], i < 10 ? InboxStatus::Done : InboxStatus::Failed,
                           i < 10 ? "" : "boom", "v1", {}, {}});
  s.inbox->complete_many(completions);
  MessageFilter pending;
  pending.statuses = {InboxStatus::Pending};
  CHECK(all_pages(*s.inbox, pending) == s.expected([](int i) { return i >= 15; }));
  MessageFilter done;
  done.statuses = {InboxStatus::Done};
  done.limit = 3;
  CHECK(all_pages(*s.inbox, done) == s.expected([](int i) { return i < 10; }));
  MessageFilter dead;
  dead.statuses = {InboxStatus::Failed, InboxStatus::Rejected};
  dead.sender = "EPIC^B";
  CHECK(all_pages(*s.inbox, dead) == s.expected([](int i) { return i >= 10 && i < 15 && i % 3 == 1; }));
  MessageFilter two;
  two.statuses = {InboxStatus::Failed, InboxStatus::Pending};
  CHECK(all_pages(*s.inbox, two) == s.expected([](int i) { return i >= 10; }));

  SECTION("totals: exact and estimate, ignoring the cursor") {
    MessageFilter f;
    f.sender = "LAB^A";
    f.limit = 2;
    f.total = MessageFilter::Total::Exact;
    MessagePage page = s.inbox->query(f);
    CHECK(page.total == 10);
    CHECK_FALSE(page.total_is_lower_bound);
    f.after_received_ms = page.rows.back().received_at_ms;
    f.after_id = page.rows.back().id;
    f.total = MessageFilter::Total::Estimate;
    CHECK(s.inbox->query(f).total == 10);
    f.total = MessageFilter::Total::None;
    CHECK_FALSE(s.inbox->query(f).total);
  }
}

TEST_CASE("browser: time window and a cursor stable while rows arrive", "[browser]") {
  TempDir dir;
  auto inbox = open_at(dir.file("inbox.db"));
  std::vector<int64_t> early;
  for (int i = 0; i < 5; ++i) early.push_back(submit_and_wait(*inbox, make_message("E" + std::to_string(i))).second);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  int64_t boundary = wall_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  std::vector<int64_t> late;
  for (int i = 0; i < 5; ++i) late.push_back(submit_and_wait(*inbox, make_message("L" + std::to_string(i))).second);

  MessageFilter since;
  since.since_ms = boundary;
  CHECK(all_pages(*inbox, since) == std::vector<int64_t>(late.rbegin(), late.rend()));
  MessageFilter until;
  until.until_ms = boundary;
  until.limit = 2;
  CHECK(all_pages(*inbox, until) == std::vector<int64_t>(early.rbegin(), early.rend()));

  // Page 1, then new rows arrive, then page 2: no row twice, none skipped, new ones absent.
  MessageFilter f;
  f.limit = 4;
  MessagePage first = inbox->query(f);
  for (int i = 0; i < 6; ++i) submit_and_wait(*inbox, make_message("N" + std::to_string(i)));
  f.after_received_ms = first.rows.back().received_at_ms;
  f.after_id = first.rows.back().id;
  std::vector<int64_t> seen = ids_of(first);
  for (int64_t id : all_pages(*inbox, f)) seen.push_back(id);
  std::vector<int64_t> want(late.rbegin(), late.rend());
  want.insert(want.end(), early.rbegin(), early.rend());
  CHECK(seen == want);
}

TEST_CASE("browser: patient search, resources and delivery attempts", "[browser]") {
  TempDir dir;
  auto inbox = open_at(dir.file("inbox.db"));
  int64_t a = submit_and_wait(*inbox, make_message("A")).second;
  int64_t b = submit_and_wait(*inbox, make_message("B")).second;
  int64_t c = submit_and_wait(*inbox, make_message("C")).second;
  // Row a carries the value 123 under two systems: it must still be listed (and counted) once.
  Completion ca{a, InboxStatus::Done, "", "v1", {{"urn:mrn", "123"}, {"urn:alt", "123"}, {"urn:ssn", "999"}},
                {"Patient/p1", "Observation/o1"}};
  Completion cb{b, InboxStatus::Done, "", "v1", {{"urn:other", "123"}}, {}};
  Completion cc{c, InboxStatus::Failed, "no", "v1", {{"urn:mrn", "456"}}, {}};
  inbox->record_deliveries({{a, "store", 1000, DeliveryVerdict::Delivered, ""},
                            {a, "remote", 1001, DeliveryVerdict::Delivered, ""},
                            {c, "store", 1002, DeliveryVerdict::Reject, "refused"}});
  inbox->complete_many({ca, cb, cc});

  MessageFilter f;
  f.patient_value = "123";
  CHECK(all_pages(*inbox, f) == std::vector<int64_t>{b, a});
  f.limit = 1;
  CHECK(all_pages(*inbox, f) == std::vector<int64_t>{b, a});
  f.total = MessageFilter::Total::Exact;
  CHECK(inbox->query(f).total == 2);
  f.total = MessageFilter::Total::None;
  f.patient_system = "urn:mrn";
  CHECK(all_pages(*inbox, f) == std::vector<int64_t>{a});
  f.patient_system = "urn:nope";
  CHECK(all_pages(*inbox, f).empty());
  MessageFilter with_status;
  with_status.patient_value = "456";
  with_status.statuses = {InboxStatus::Failed, InboxStatus::Rejected};
  CHECK(all_pages(*inbox, with_status) == std::vector<int64_t>{c});

  CHECK(inbox->get(a)->resources == std::vector<std::string>{"Patient/p1", "Observation/o1"});
  auto attempts = inbox->delivery_attempts(a);
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0].sink == "store");
  CHECK(attempts[1].sink == "remote");
  auto rejected = inbox->delivery_attempts(c);
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].outcome == DeliveryVerdict::Reject);
  CHECK(rejected[0].error == "refused");
}

TEST_CASE("operators: discard and requeue of rejected rows", "[browser]") {
  TempDir dir;
  auto inbox = open_at(dir.file("inbox.db"));
  int64_t pending = submit_and_wait(*inbox, make_message("P")).second;
  int64_t failed = submit_and_wait(*inbox, make_message("F")).second;
  InboxMessage refused = make_message("R");
  refused.status = InboxStatus::Rejected;
  refused.error = "unparseable";
  int64_t rejected = submit_and_wait(*inbox, refused).second;
  REQUIRE(inbox->fetch_pending(10).size() == 2);
  inbox->complete(failed, InboxStatus::Failed, "sink refused", "v1");

  CHECK_THROWS_AS(inbox->discard(failed, "", "op"), std::invalid_argument);
  CHECK(inbox->discard(pending, "nope", "op") == InboxStatus::Pending);
  CHECK(inbox->get(pending)->status == InboxStatus::Pending);
  CHECK_FALSE(inbox->discard(424242, "x", "op"));
  CHECK(inbox->discard(failed, "duplicate of an earlier feed", "alice") == InboxStatus::Failed);
  auto row = inbox->get(failed);
  CHECK(row->status == InboxStatus::Discarded);
  CHECK(row->discard_reason == "duplicate of an earlier feed");
  CHECK(row->discarded_by == "alice");
  CHECK(row->error == "sink refused");  // the original reason is kept
  CHECK(inbox->discard(failed, "again", "alice") == InboxStatus::Discarded);  // no change
  CHECK(inbox->stats().discarded == 1);
  CHECK(inbox->stats().failed == 0);

  MessageFilter dead;
  dead.statuses = {InboxStatus::Failed, InboxStatus::Rejected};
  CHECK(all_pages(*inbox, dead) == std::vector<int64_t>{rejected});

  CHECK(inbox->requeue_rejected(failed) == InboxStatus::Discarded);  // only rejected rows
  CHECK(inbox->requeue_rejected(rejected) == InboxStatus::Rejected);
  CHECK(inbox->get(rejected)->status == InboxStatus::Pending);
  CHECK(inbox->stats().rejected == 0);
  auto again = inbox->fetch_pending(10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == rejected);
}

TEST_CASE("retention: batches, never pending rows, side tables, vacuum", "[retention]") {
  TempDir dir;
  auto inbox = open_at(dir.file("inbox.db"));
  REQUIRE(inbox->size().incremental_vacuum);  // new files
  const std::string big(20000, 'x');
  std::vector<int64_t> ids;
  for (int i = 0; i < 40; ++i)
    ids.push_back(submit_and_wait(*inbox, make_message("K" + std::to_string(i), "LAB^A", big)).second);
  REQUIRE(inbox->fetch_pending(40).size() == 40);
  std::vector<Completion> completions;
  for (int i = 0; i < 30; ++i) {
    auto id = ids[static_cast<std::size_t>(i)];
    completions.push_back({id, i < 25 ? InboxStatus::Done : InboxStatus::Failed, "", "v1", {{"urn:mrn", "M" + std::to_string(i)}}, {}});
  }
  inbox->record_deliveries({{ids[0], "store", 1, DeliveryVerdict::Delivered, ""}});
  inbox->complete_many(completions);
  for (int i = 30; i < 40; ++i) inbox->release(ids[static_cast<std::size_t>(i)]);  // 10 stay pending
  inbox->discard(ids[25], "test", "op");

  CHECK_THROWS_AS(inbox->prune({{InboxStatus::Pending}, wall_ms() + 1, 10}), std::invalid_argument);
  // One batch: at most max_rows, oldest first.
  CHECK(inbox->prune({{InboxStatus::Done}, wall_ms() + 1, 4}) == 4);
  CHECK_FALSE(inbox->get(ids[0]));
  CHECK(inbox->get(ids[4]));
  CHECK(inbox->delivery_attempts(ids[0]).empty());
  MessageFilter patient;
  patient.patient_value = "M0";
  CHECK(inbox->query(patient).rows.empty());
  patient.patient_value = "M5";
  CHECK(inbox->query(patient).rows.size() == 1);

  phrgate::metrics::Registry metrics;
  int64_t before_bytes = inbox->size().file_bytes;
  SECTION("size budget: oldest done and discarded rows, failed and pending kept") {
    RetentionSettings rs;
    rs.max_bytes = 1;
    rs.batch_rows = 3;
    rs.pause_between_batches = std::chrono::milliseconds(0);
    InboxRetention retention(*inbox, rs, &metrics);
    RetentionPass pass = retention.run_once(wall_ms());
    CHECK(pass.pruned_for_size == 22);  // 21 done + 1 discarded
    CHECK(pass.over_budget);
    CHECK(inbox->stats().done == 0);
    CHECK(inbox->stats().discarded == 0);
    CHECK(inbox->stats().failed == 4);
    CHECK(inbox->stats().pending == 10);
    CHECK(inbox->size().file_bytes < before_bytes);  // pages returned to the file system
    CHECK(metrics.render().find("phrgate_retention_pruned_total 22") != std::string::npos);
    CHECK(metrics.render().find("phrgate_inbox_bytes") != std::string::npos);
  }
  SECTION("age: every finished row past max_age, pending rows never") {
    RetentionSettings rs;
    rs.max_age_days = 1;
    rs.batch_rows = 5;
    rs.pause_between_batches = std::chrono::milliseconds(0);
    InboxRetention retention(*inbox, rs, nullptr);
    CHECK(retention.run_once(wall_ms()).pruned_for_age == 0);  // nothing is a day old
    RetentionPass pass = retention.run_once(wall_ms() + 2 * 86'400'000LL);
    CHECK(pass.pruned_for_age == 26);  // 21 done, 4 failed, 1 discarded
    CHECK(inbox->stats().pending == 10);
    for (int i = 30; i < 40; ++i) CHECK(inbox->get(ids[static_cast<std::size_t>(i)])->status == InboxStatus::Pending);
    CHECK(inbox->fetch_pending(100).size() == 10);
  }
}

TEST_CASE("schema: a version 1 file is migrated with its rows", "[schema]") {
  TempDir dir;
  const std::string path = dir.file("inbox.db");
  {
    phrgate::sqlite::Db db(path);
    db.exec(R"sql(
CREATE TABLE inbox(id INTEGER PRIMARY KEY, source TEXT NOT NULL, sender TEXT NOT NULL DEFAULT '',
  control_id TEXT NOT NULL DEFAULT '', message_type TEXT NOT NULL DEFAULT '',
  content_type TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
  error TEXT NOT NULL DEFAULT '', ack TEXT NOT NULL DEFAULT '', received_at_ms INTEGER NOT NULL,
  completed_at_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
  mapping_version TEXT NOT NULL DEFAULT '', payload BLOB NOT NULL);
CREATE UNIQUE INDEX inbox_sender_control ON inbox(sender, control_id) WHERE control_id <> '';
CREATE INDEX inbox_status ON inbox(status);
INSERT INTO inbox VALUES(1, 'emr', 'LAB^A', 'X1', 'ORU^R01', 'application/hl7-v2', 1, '', 'MSA|AA', 1000, 2000, 1, 'v7', 'MSH|1');
INSERT INTO inbox VALUES(2, 'emr', 'LAB^A', 'X2', 'ADT^A01', 'application/hl7-v2', 0, '', '', 3000, NULL, 0, '', 'MSH|2');
INSERT INTO inbox VALUES(3, 'emr', 'LAB^A', 'X3', 'ADT^A01', 'application/hl7-v2', 3, 'bad', 'MSA|AR', 4000, NULL, 0, '', 'MSH|3');
PRAGMA user_version = 1;
)sql");
  }
  SqliteInboxOptions o;
  o.path = path;
  bool small_file = GENERATE(true, false);
  if (!small_file) o.migrate_vacuum_max_bytes = 0;  // too big to rewrite: free pages reused
  auto inbox = open_sqlite_inbox(o);
  auto done = inbox->get(1);
  REQUIRE(done);
  CHECK(done->status == InboxStatus::Done);
  CHECK(done->ack == "MSA|AA");
  CHECK(done->mapping_version == "v7");
  CHECK(done->payload == "MSH|1");
  CHECK(done->completed_at_ms == 2000);
  CHECK(inbox->stats().pending == 1);
  CHECK(inbox->stats().rejected == 1);
  CHECK(inbox->fetch_pending(10).size() == 1);
  CHECK(inbox->size().incremental_vacuum == small_file);
  // Dedup still holds for the migrated rows; new rows take the next id.
  auto dup = submit_and_wait(*inbox, message("X1", "LAB^A", "ORU^R01", "emr"));
  CHECK(dup == std::make_pair(SubmitResult::Duplicate, int64_t{1}));
  CHECK(submit_and_wait(*inbox, message("X4", "LAB^A", "ORU^R01", "emr")).second == 4);
  MessageFilter f;
  f.message_type = "ADT^A01";
  CHECK(all_pages(*inbox, f) == std::vector<int64_t>{3, 2});
  CHECK(inbox->discard(3, "old feed", "op") == InboxStatus::Rejected);  // status 4 now allowed
  inbox.reset();
  phrgate::sqlite::Db db(path, true);
  phrgate::sqlite::Stmt version(db, "PRAGMA user_version");
  REQUIRE(version.step());
  CHECK(version.column_int(0) == 2);
}
