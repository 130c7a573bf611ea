// Tests for documents that replace earlier versions of themselves (PhrStore::write_document):
// a later version drops what the earlier one contributed and no longer holds (kept in
// history, read as deleted), an older version arriving late changes nothing, shared resources
// and resources another document still holds survive, and a v1 store file is migrated.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gateway/core/sqlite_db.h"
#include "gateway/store/phr_store.h"
#include "tests/support/temp_dir.h"

using phrgate::store::FhirResource;
using phrgate::testing::TempDir;

namespace {

FhirResource resource(const std::string& type, const std::string& id, const std::string& note = "x") {
  FhirResource r;
  r.type = type;
  r.id = id;
  r.person_id = "p1";
  r.json = R"({"resourceType":")" + type + R"(","id":")" + id + R"(","note":")" + note + R"("})";
  return r;
}

std::vector<const FhirResource*> refs(const std::vector<FhirResource>& rs) {
  std::vector<const FhirResource*> out;
  for (const auto& r : rs) out.push_back(&r);
  return out;
}

}  // namespace

TEST_CASE("a later document version replaces what the earlier one contributed") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  const std::vector<FhirResource> v1{resource("Patient", "p1"), resource("Practitioner", "dr1"),
                                     resource("AllergyIntolerance", "a1"),
                                     resource("Condition", "c1"), resource("Condition", "c2")};
  auto s1 = store->write_document("set-A", 1, refs(v1));
  CHECK(s1.created == 5);
  CHECK(s1.deleted == 0);

  // Version 2: c2 is gone, c1 changed, a new c3, another author.
  const std::vector<FhirResource> v2{resource("Patient", "p1"), resource("Practitioner", "dr2"),
                                     resource("AllergyIntolerance", "a1"),
                                     resource("Condition", "c1", "changed"),
                                     resource("Condition", "c3")};
  auto s2 = store->write_document("set-A", 2, refs(v2));
  CHECK(s2.created == 2);
  CHECK(s2.updated == 1);
  CHECK(s2.unchanged == 2);
  CHECK(s2.deleted == 1);
  CHECK_FALSE(s2.older_version);

  CHECK_FALSE(store->read("Condition", "c2"));
  CHECK(store->was_deleted("Condition", "c2"));
  CHECK_FALSE(store->was_deleted("Condition", "c9"));
  auto history = store->history("Condition", "c2");
  REQUIRE(history.size() == 1);  // its last content is kept
  CHECK(history[0].version == 1);
  CHECK(store->read("Practitioner", "dr1"));  // shared types are never dropped
  CHECK(store->read("Condition", "c1")->version == 2);
  CHECK(store->count_resources() == 6);

  SECTION("an older version arriving late changes nothing") {
    auto late = store->write_document("set-A", 1, refs(v1));
    CHECK(late.older_version);
    CHECK(late.created + late.updated + late.deleted == 0);
    CHECK_FALSE(store->read("Condition", "c2"));
    CHECK(store->read("Condition", "c1")->version == 2);
  }
  SECTION("the same version again is idempotent") {
    auto again = store->write_document("set-A", 2, refs(v2));
    CHECK(again.unchanged == 5);
    CHECK(again.deleted == 0);
  }
  SECTION("a resource written again after its deletion continues its version numbers") {
    const std::vector<FhirResource> v3{resource("Patient", "p1"), resource("Condition", "c2", "back")};
    auto s3 = store->write_document("set-A", 3, refs(v3));
    CHECK(s3.created == 1);
    auto back = store->read("Condition", "c2");
    REQUIRE(back);
    CHECK(back->version == 2);
    CHECK_FALSE(store->was_deleted("Condition", "c2"));
    CHECK(store->history("Condition", "c2").size() == 2);
  }
}

TEST_CASE("a resource another document set still holds is not dropped") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  const std::vector<FhirResource> a{resource("Immunization", "i1"), resource("Condition", "c1")};
  const std::vector<FhirResource> b{resource("Immunization", "i1")};
  store->write_document("set-A", 1, refs(a));
  store->write_document("set-B", 1, refs(b));
  const std::vector<FhirResource> a2{resource("Condition", "c1")};
  auto s = store->write_document("set-A", 2, refs(a2));
  CHECK(s.deleted == 0);
  CHECK(store->read("Immunization", "i1"));
  CHECK_THROWS_AS(store->write_document("", 1, refs(a2)), std::invalid_argument);
}

TEST_CASE("a version 1 store file is migrated to the document tables") {
  TempDir dir;
  const auto path = dir.file("phr.db");
  {
    phrgate::sqlite::Db db(path);
    db.exec(R"sql(
CREATE TABLE resources(type TEXT NOT NULL, id TEXT NOT NULL, person_id TEXT NOT NULL,
  version INTEGER NOT NULL, last_updated TEXT NOT NULL, content_hash TEXT NOT NULL,
  json TEXT NOT NULL, PRIMARY KEY(type, id));
CREATE INDEX resources_by_person ON resources(person_id, type, id);
CREATE TABLE resource_history(type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
  person_id TEXT NOT NULL, last_updated TEXT NOT NULL, json TEXT NOT NULL,
  PRIMARY KEY(type, id, version));
CREATE TABLE resource_identifiers(value TEXT NOT NULL, system TEXT NOT NULL, type TEXT NOT NULL,
  id TEXT NOT NULL, PRIMARY KEY(value, system, type, id)) WITHOUT ROWID;
CREATE INDEX resource_identifiers_by_resource ON resource_identifiers(type, id);
INSERT INTO resources VALUES('Condition','c1','p1',1,'2026-01-01T00:00:00.000Z','h','{"resourceType":"Condition","id":"c1"}');
PRAGMA user_version = 1;
)sql");
  }
  auto store = phrgate::store::open_sqlite_store(path);
  CHECK(store->read("Condition", "c1"));
  const std::vector<FhirResource> doc{resource("Condition", "c2")};
  CHECK(store->write_document("set-A", 1, refs(doc)).created == 1);
  phrgate::sqlite::Db db(path);
  phrgate::sqlite::Stmt v(db, "PRAGMA user_version");
  REQUIRE(v.step());
  CHECK(v.column_int(0) == 2);
}
