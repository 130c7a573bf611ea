// AuditTrail on a real SQLite file: records are queued and committed by the writer thread,
// queried with filters and a cursor, kept across a reopen, and the table refuses UPDATE and
// DELETE. Also the instant parser used by the query API.
#include <catch2/catch.hpp>

#include <thread>

#include "gateway/audit/audit_trail.h"
#include "gateway/core/sqlite_db.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::audit;

namespace {

AuditRecord rec(std::string actor, std::string action, std::string person, int64_t at_ms) {
  AuditRecord r;
  r.actor = std::move(actor);
  r.action = std::move(action);
  r.person_id = std::move(person);
  r.at_ms = at_ms;
  r.target_type = "Patient";
  r.target_id = r.person_id;
  r.client = "127.0.0.1:5000";
  return r;
}

AuditTrailOptions options_for(const phrgate::testing::TempDir& dir) {
  AuditTrailOptions o;
  o.path = dir.file("audit.db");
  o.role_of = [](std::string_view actor) { return actor == "ops" ? std::string("operator") : std::string("reader"); };
  o.gather_delay = std::chrono::milliseconds(1);
  return o;
}

}  // namespace

TEST_CASE("audit trail: records are committed, filtered and paged newest first") {
  phrgate::testing::TempDir dir;
  AuditTrail trail(options_for(dir));
  trail.record(rec("ops", "replay", "", 1000));
  trail.record(rec("app", "read", "p1", 2000));
  trail.record(rec("app", "search", "p2", 3000));
  trail.record(rec("app", "read", "p1", 4000));
  REQUIRE(trail.flush());

  AuditPage all = trail.query({});
  REQUIRE(all.records.size() == 4);
  CHECK(all.records[0].record.at_ms == 4000);  // newest first
  CHECK(all.records[3].record.role == "operator");
  CHECK(all.records[0].record.role == "reader");
  CHECK(all.records[0].record.detail_json == "{}");

  AuditQuery by_person;
  by_person.person_id = "p1";
  CHECK(trail.query(by_person).records.size() == 2);
  AuditQuery by_actor_action;
  by_actor_action.actor = "app";
  by_actor_action.action = "search";
  REQUIRE(trail.query(by_actor_action).records.size() == 1);
  CHECK(trail.query(by_actor_action).records[0].record.person_id == "p2");
  AuditQuery window;
  window.since_ms = 2000;
  window.until_ms = 4000;  // until is exclusive
  CHECK(trail.query(window).records.size() == 2);

  AuditQuery paged;
  paged.limit = 3;
  AuditPage first = trail.query(paged);
  REQUIRE(first.records.size() == 3);
  CHECK(first.more);
  paged.before_id = first.records.back().id;
  AuditPage second = trail.query(paged);
  REQUIRE(second.records.size() == 1);
  CHECK_FALSE(second.more);
  CHECK(second.records[0].record.action == "replay");

  AuditQuery forward;
  forward.oldest_first = true;
  forward.limit = 2;
  AuditPage f = trail.query(forward);
  REQUIRE(f.records.size() == 2);
  CHECK(f.records[0].record.at_ms == 1000);
  CHECK(f.more);
}

TEST_CASE("audit trail: kept across a reopen; the table refuses UPDATE and DELETE") {
  phrgate::testing::TempDir dir;
  {
    AuditTrail trail(options_for(dir));
    AuditRecord r = rec("ops", "reload", "", 0);  // at_ms 0: stamped now
    r.detail_json = "not json";                   // wrapped, never stored raw
    trail.record(std::move(r));
  }  // the destructor writes what is queued
  AuditTrail reopened(options_for(dir));
  AuditPage page = reopened.query({});
  REQUIRE(page.records.size() == 1);
  CHECK(page.records[0].record.at_ms > 1700000000000);
  CHECK(page.records[0].record.detail_json == R"({"text":"not json"})");

  phrgate::sqlite::Db db(dir.file("audit.db"));
  CHECK_THROWS_WITH(db.exec("UPDATE audit_event SET actor = 'someone else'"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(db.exec("DELETE FROM audit_event"), Catch::Contains("append-only"));
  CHECK(reopened.query({}).records.size() == 1);
}

TEST_CASE("audit trail: many threads recording at once lose nothing") {
  phrgate::testing::TempDir dir;
  AuditTrailOptions o = options_for(dir);
  o.max_queued = 64;  // small, so recorders also wait for the writer
  AuditTrail trail(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&trail, t] {
      for (int i = 0; i < 250; ++i) trail.record(rec("app", "read", "p" + std::to_string(t), 1000 + i));
    });
  for (auto& th : threads) th.join();
  REQUIRE(trail.flush());
  AuditQuery q;
  q.limit = 5000;
  CHECK(trail.query(q).records.size() == 1000);
  q.person_id = "p3";
  CHECK(trail.query(q).records.size() == 250);
  CHECK(trail.write_failures() == 0);
}

TEST_CASE("audit instants: ISO 8601 with zone or epoch milliseconds") {
  CHECK(parse_instant("0") == 0);
  CHECK(parse_instant("1764031135123") == 1764031135123);
  CHECK(parse_instant("1970-01-02") == 86400000);
  CHECK(parse_instant("1970-01-01T00:00:01Z") == 1000);
  CHECK(parse_instant("1970-01-01T00:00:01.5Z") == 1500);
  CHECK(parse_instant("1970-01-01T01:00:00+01:00") == 0);
  CHECK(parse_instant("1970-01-01T00:00-00:30") == 1800000);
  CHECK_FALSE(parse_instant(""));
  CHECK_FALSE(parse_instant("yesterday"));
  CHECK_FALSE(parse_instant("2026-13-01"));
  CHECK_FALSE(parse_instant("2026-11-25T10:00:00+0100"));
  CHECK(iso_instant(1500) == "1970-01-01T00:00:01.500Z");
}
