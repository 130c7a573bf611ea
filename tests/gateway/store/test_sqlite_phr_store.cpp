// Tests for the SQLite PHR store on real files in a temp dir: create/update/unchanged
// versioning and history, meta splicing, identifier search, per-person paging, $everything
// order, atomic writes, schema versioning, and readers running while a writer writes.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gateway/core/sqlite_db.h"
#include "gateway/store/phr_store.h"
#include "gateway/store/stored_json.h"
#include "tests/support/temp_dir.h"

using phrgate::store::FhirResource;
using phrgate::store::StoredResource;
using phrgate::testing::TempDir;

namespace {

FhirResource patient(const std::string& id, const std::string& family,
                     std::vector<std::pair<std::string, std::string>> identifiers = {}) {
  FhirResource r;
  r.type = "Patient";
  r.id = id;
  r.person_id = id;
  r.json = R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
           R"("}]})";
  r.identifiers = std::move(identifiers);
  return r;
}

FhirResource owned(const std::string& type, const std::string& id, const std::string& person,
                   const std::string& value = "x") {
  FhirResource r;
  r.type = type;
  r.id = id;
  r.person_id = person;
  r.json = R"({"resourceType":")" + type + R"(","id":")" + id +
           R"(","subject":{"reference":"Patient/)" + person + R"("},"note":")" + value + R"("})";
  return r;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::vector<std::string> ids_of(const std::vector<StoredResource>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.type + "/" + r.id);
  return out;
}

}  // namespace

TEST_CASE("write creates, keeps identical content unchanged, and versions changes") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));

  auto stats = store->write({patient("p1", "Smith"), owned("Observation", "o1", "p1")});
  CHECK(stats.created == 2);
  CHECK(stats.updated == 0);
  CHECK(stats.unchanged == 0);
  CHECK(store->count_resources() == 2);

  auto v1 = store->read("Patient", "p1");
  REQUIRE(v1);
  CHECK(v1->version == 1);
  CHECK(v1->person_id == "p1");
  CHECK(v1->last_updated.size() == 24);  // 2024-05-01T12:34:56.789Z
  CHECK(v1->last_updated.back() == 'Z');

  SECTION("an identical re-write is a no-op") {
    stats = store->write({patient("p1", "Smith"), owned("Observation", "o1", "p1")});
    CHECK(stats.unchanged == 2);
    CHECK(stats.created == 0);
    CHECK(stats.updated == 0);
    auto again = store->read("Patient", "p1");
    REQUIRE(again);
    CHECK(again->version == 1);
    CHECK(again->last_updated == v1->last_updated);
    CHECK(again->json == v1->json);
    CHECK(store->history("Patient", "p1").size() == 1);
  }

  SECTION("changed content bumps the version and keeps the old one in history") {
    stats = store->write({patient("p1", "Jones"), owned("Observation", "o1", "p1")});
    CHECK(stats.updated == 1);
    CHECK(stats.unchanged == 1);
    stats = store->write({patient("p1", "Brown")});
    CHECK(stats.updated == 1);

    auto current = store->read("Patient", "p1");
    REQUIRE(current);
    CHECK(current->version == 3);
    CHECK(current->json.find("Brown") != std::string::npos);
    CHECK(current->last_updated >= v1->last_updated);
    CHECK(store->count_resources() == 2);

    auto versions = store->history("Patient", "p1");
    REQUIRE(versions.size() == 3);
    CHECK(versions[0].version == 3);
    CHECK(versions[1].version == 2);
    CHECK(versions[2].version == 1);
    CHECK(versions[1].json.find("Jones") != std::string::npos);
    CHECK(versions[2].json.find("Smith") != std::string::npos);
    CHECK(versions[2].last_updated == v1->last_updated);
    for (const auto& v : versions) {
      auto doc = parse(v.json);
      CHECK(std::string(doc["meta"]["versionId"].GetString()) == std::to_string(v.version));
    }
  }

  SECTION("unknown resources read as absent") {
    CHECK_FALSE(store->read("Patient", "nope"));
    CHECK_FALSE(store->read("Observation", "p1"));
    CHECK(store->history("Patient", "nope").empty());
  }
}

TEST_CASE("a conditional create writes a new resource but never overwrites an existing one") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  auto sparse = patient("p1", "Sparse");
  sparse.only_if_absent = true;
  CHECK(store->write({sparse}).created == 1);  // absent: created
  CHECK(store->write({patient("p1", "Full")}).updated == 1);
  auto again = store->write({sparse});          // present: left alone
  CHECK(again.unchanged == 1);
  CHECK(again.updated == 0);
  auto now = store->read("Patient", "p1");
  REQUIRE(now);
  CHECK(now->version == 2);
  CHECK(now->json.find("Full") != std::string::npos);
}

TEST_CASE("served json carries meta and parses as the same resource") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  store->write({patient("p1", "Smith")});
  auto r = store->read("Patient", "p1");
  REQUIRE(r);
  auto doc = parse(r->json);
  CHECK(std::string(doc["resourceType"].GetString()) == "Patient");
  CHECK(std::string(doc["id"].GetString()) == "p1");
  CHECK(std::string(doc["meta"]["versionId"].GetString()) == "1");
  CHECK(std::string(doc["meta"]["lastUpdated"].GetString()) == r->last_updated);
  CHECK(std::string(doc["name"][0]["family"].GetString()) == "Smith");
  CHECK(doc.MemberBegin()->name == "resourceType");  // still the first member
}

TEST_CASE("splice_meta handles every object shape with plain string operations") {
  using phrgate::store::splice_meta;
  const std::string meta = R"("meta":{"versionId":"7","lastUpdated":"2024-01-02T03:04:05.006Z"})";
  const std::string lu = "2024-01-02T03:04:05.006Z";
  CHECK(splice_meta(R"({"resourceType":"Patient","id":"a"})", 7, lu) ==
        R"({"resourceType":"Patient",)" + meta + R"(,"id":"a"})");
  CHECK(splice_meta(R"({"resourceType":"Patient"})", 7, lu) ==
        R"({"resourceType":"Patient",)" + meta + "}");
  CHECK(splice_meta(R"({"id":"a"})", 7, lu) == "{" + meta + R"(,"id":"a"})");
  CHECK(splice_meta("{}", 7, lu) == "{" + meta + "}");
  CHECK(splice_meta("{ }", 7, lu) == "{" + meta + " }");
  for (const char* in : {R"({ "resourceType" : "X", "a": [1, {"b": 2}] })", "{\n}"}) {
    auto doc = parse(splice_meta(in, 7, lu));
    CHECK(std::string(doc["meta"]["versionId"].GetString()) == "7");
  }
}

TEST_CASE("fhir_instant is UTC with milliseconds") {
  using namespace std::chrono;
  const system_clock::time_point t{milliseconds(1714566896789)};
  CHECK(phrgate::store::fhir_instant(t) == "2024-05-01T12:34:56.789Z");
  CHECK(phrgate::store::fhir_instant(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("Patient identifier search with and without a system") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  store->write({patient("p1", "A", {{"urn:oid:1.2.3", "MRN1"}, {"urn:oid:9.9", "SHARED"}}),
                patient("p2", "B", {{"urn:oid:1.2.3", "MRN2"}, {"urn:oid:1.2.3", "SHARED"}}),
                patient("p3", "C", {{"", "NOSYS"}, {"urn:oid:7", "MRN1"}})});
  // A non-Patient resource with the same identifier value is never returned.
  auto obs = owned("Observation", "o1", "p1");
  obs.identifiers = {{"urn:oid:1.2.3", "MRN1"}};
  store->write({obs});

  auto page = store->find_patients_by_identifier("urn:oid:1.2.3", "MRN1", 0, 10);
  CHECK(page.total == 1);
  CHECK(ids_of(page.resources) == std::vector<std::string>{"Patient/p1"});

  page = store->find_patients_by_identifier("", "MRN1", 0, 10);
  CHECK(page.total == 2);
  CHECK(ids_of(page.resources) == std::vector<std::string>{"Patient/p1", "Patient/p3"});

  page = store->find_patients_by_identifier("", "SHARED", 0, 1);
  CHECK(page.total == 2);
  CHECK(ids_of(page.resources) == std::vector<std::string>{"Patient/p1"});
  page = store->find_patients_by_identifier("", "SHARED", 1, 1);
  CHECK(ids_of(page.resources) == std::vector<std::string>{"Patient/p2"});

  CHECK(store->find_patients_by_identifier("urn:oid:other", "MRN1", 0, 10).total == 0);
  CHECK(store->find_patients_by_identifier("", "mrn1", 0, 10).total == 0);  // exact match

  SECTION("exact search: an empty system means 'stored without a system'") {
    page = store->find_patients_by_exact_identifier("", "NOSYS", 0, 10);
    CHECK(ids_of(page.resources) == std::vector<std::string>{"Patient/p3"});
    CHECK(store->find_patients_by_exact_identifier("", "MRN1", 0, 10).total == 0);
    CHECK(store->find_patients_by_exact_identifier("urn:oid:7", "MRN1", 0, 10).total == 1);
  }

  SECTION("an update replaces the resource's identifiers") {
    store->write({patient("p1", "A2", {{"urn:oid:1.2.3", "MRN1-NEW"}})});
    CHECK(store->find_patients_by_identifier("", "MRN1", 0, 10).total == 1);  // p3 only
    CHECK(store->find_patients_by_identifier("", "MRN1-NEW", 0, 10).total == 1);
    CHECK(store->find_patients_by_identifier("", "SHARED", 0, 10).total == 1);
  }

  SECTION("count 0 gives the total only") {
    page = store->find_patients_by_identifier("", "SHARED", 0, 0);
    CHECK(page.total == 2);
    CHECK(page.resources.empty());
  }
}

TEST_CASE("find_by_person pages one type of one person with totals") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  std::vector<FhirResource> batch{patient("p1", "A"), patient("p2", "B")};
  for (int i = 0; i < 25; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "o%02d", i);
    batch.push_back(owned("Observation", id, "p1"));
  }
  batch.push_back(owned("Observation", "other", "p2"));
  batch.push_back(owned("Encounter", "e1", "p1"));
  store->write(batch);

  auto page = store->find_by_person("p1", "Observation", 0, 10);
  CHECK(page.total == 25);
  REQUIRE(page.resources.size() == 10);
  CHECK(page.resources.front().id == "o00");
  CHECK(page.resources.back().id == "o09");

  page = store->find_by_person("p1", "Observation", 20, 10);
  CHECK(page.total == 25);
  REQUIRE(page.resources.size() == 5);
  CHECK(page.resources.front().id == "o20");

  page = store->find_by_person("p1", "Observation", 30, 10);
  CHECK(page.total == 25);
  CHECK(page.resources.empty());

  CHECK(store->find_by_person("p2", "Observation", 0, 50).total == 1);
  CHECK(store->find_by_person("p1", "Encounter", 0, 50).total == 1);
  CHECK(store->find_by_person("p1", "Condition", 0, 50).total == 0);
  CHECK(store->find_by_person("nobody", "Observation", 0, 50).total == 0);

  page = store->find_by_person("p1", "", 0, 3);  // every type, ordered by type then id
  CHECK(page.total == 27);
  CHECK(ids_of(page.resources) ==
        std::vector<std::string>{"Encounter/e1", "Observation/o00", "Observation/o01"});
}

TEST_CASE("everything returns the Patient first, then the rest by type and id") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  // "Zeta" sorts after Patient and "Appointment" before it: the Patient must still lead.
  store->write({owned("Observation", "o2", "p1"), owned("Appointment", "a1", "p1"),
                patient("p1", "A"), owned("Observation", "o1", "p1"),
                owned("Procedure", "pr1", "p1"), owned("Observation", "x", "p2")});
  const std::vector<std::string> expected{"Patient/p1", "Appointment/a1", "Observation/o1",
                                          "Observation/o2", "Procedure/pr1"};

  auto all = store->everything("p1", 0, 100);
  CHECK(all.total == 5);
  CHECK(ids_of(all.resources) == expected);

  // Paging through in twos gives the same sequence.
  std::vector<std::string> paged;
  for (int64_t offset = 0; offset < 5; offset += 2) {
    auto page = store->everything("p1", offset, 2);
    CHECK(page.total == 5);
    for (auto& id : ids_of(page.resources)) paged.push_back(id);
  }
  CHECK(paged == expected);

  CHECK(store->everything("p1", 0, 0).resources.empty());
  CHECK(store->everything("nobody", 0, 10).total == 0);
}

TEST_CASE("write is all or nothing") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  auto bad = owned("Observation", "o1", "p1");
  bad.json = "not json";
  CHECK_THROWS_AS(store->write({patient("p1", "A"), bad}), std::invalid_argument);
  CHECK(store->count_resources() == 0);

  auto bad_id = owned("Observation", "has space", "p1");
  CHECK_THROWS_AS(store->write({patient("p1", "A"), bad_id}), std::invalid_argument);
  CHECK(store->count_resources() == 0);
  CHECK(store->write({}).created == 0);
}

TEST_CASE("the store survives reopening and refuses a newer schema") {
  TempDir dir;
  const auto path = dir.file("phr.db");
  {
    auto store = phrgate::store::open_sqlite_store(path);
    store->write({patient("p1", "A"), owned("Observation", "o1", "p1")});
  }
  {
    auto store = phrgate::store::open_sqlite_store(path);
    CHECK(store->count_resources() == 2);
    auto r = store->read("Observation", "o1");
    REQUIRE(r);
    CHECK(r->version == 1);
  }
  {
    phrgate::sqlite::Db db(path);
    db.exec("PRAGMA user_version = 99");
  }
  CHECK_THROWS_AS(phrgate::store::open_sqlite_store(path), std::runtime_error);
}

TEST_CASE("readers on other threads keep working while a writer writes") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  store->write({patient("p1", "A")});

  constexpr int kWrites = 150;
  std::atomic<bool> writer_done{false};
  std::atomic<int> reader_errors{0};
  std::atomic<int64_t> reads{0};

  auto reader = [&] {
    int64_t last_total = 0;
    do {
      try {
        auto page = store->find_by_person("p1", "Observation", 0, 5);
        auto all = store->everything("p1", 0, 1000);
        // Snapshots only grow; within one call total and page agree.
        if (page.total < last_total || static_cast<int64_t>(all.resources.size()) != all.total ||
            !store->read("Patient", "p1"))
          ++reader_errors;
        last_total = page.total;
        ++reads;
      } catch (const std::exception&) {
        ++reader_errors;
      }
    } while (!writer_done.load());
  };
  std::thread r1(reader), r2(reader);

  int writer_errors = 0;
  for (int i = 0; i < kWrites; ++i) {
    try {
      store->write({owned("Observation", "o" + std::to_string(i), "p1"),
                    owned("Observation", "o0", "p1", "rev" + std::to_string(i))});
    } catch (const std::exception&) {
      ++writer_errors;
    }
  }
  writer_done = true;
  r1.join();
  r2.join();

  CHECK(writer_errors == 0);
  CHECK(reader_errors == 0);
  CHECK(reads.load() > 0);
  CHECK(store->find_by_person("p1", "Observation", 0, 0).total == kWrites);
  // The first batch creates o0 ("x") and updates it ("rev0"); each later one updates it once.
  CHECK(store->read("Observation", "o0")->version == 1 + kWrites);
}
