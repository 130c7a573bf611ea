// Tests of the PHR store's identity operations: reassign_person (a merge moves every record of
// one person to another, rewriting references, keeping history; the merged Patient's
// identifiers join the surviving Patient, which is then the only one found by them) and
// remove_patient_identifier (an unlinked identifier leaves its old Patient).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gateway/store/patient_identifiers.h"
#include "gateway/store/phr_store.h"
#include "tests/support/temp_dir.h"

using phrgate::store::FhirResource;
using phrgate::testing::TempDir;

namespace {

FhirResource patient(const std::string& id, const std::string& system, const std::string& value) {
  FhirResource r;
  r.type = "Patient";
  r.id = id;
  r.person_id = id;
  r.json = R"({"resourceType":"Patient","id":")" + id + R"(","identifier":[{"system":")" + system +
           R"(","value":")" + value + R"("}]})";
  r.identifiers = {{system, value}};
  return r;
}

FhirResource observation(const std::string& id, const std::string& person) {
  FhirResource r;
  r.type = "Observation";
  r.id = id;
  r.person_id = person;
  r.json = R"({"resourceType":"Observation","id":")" + id + R"(","subject":{"reference":"Patient/)" + person + R"("}})";
  return r;
}

}  // namespace

TEST_CASE("reassign_person moves a merged person's records and identifiers", "[store][identity]") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  store->write({patient("p-surviving", "urn:a", "A1"), observation("o1", "p-surviving")});
  store->write({patient("p-merged", "urn:b", "B7"), observation("o2", "p-merged"), observation("o3", "p-merged")});

  CHECK(store->reassign_person("p-merged", "p-surviving") == 2);
  auto moved = store->read("Observation", "o2");
  REQUIRE(moved);
  CHECK(moved->person_id == "p-surviving");
  CHECK(moved->json.find("Patient/p-surviving") != std::string::npos);
  CHECK(moved->json.find("p-merged") == std::string::npos);
  CHECK(moved->version == 2);
  CHECK(store->history("Observation", "o2").size() == 2);  // the old owner stays in history

  CHECK_FALSE(store->read("Patient", "p-merged"));
  CHECK(store->was_deleted("Patient", "p-merged"));
  auto by_b = store->find_patients_by_identifier("urn:b", "B7", 0, 10);
  REQUIRE(by_b.total == 1);
  CHECK(by_b.resources[0].id == "p-surviving");
  CHECK(by_b.resources[0].json.find("\"B7\"") != std::string::npos);
  CHECK(store->find_by_person("p-surviving", "", 0, 0).total == 4);  // Patient + 3 Observations
  CHECK(store->find_by_person("p-merged", "", 0, 0).total == 0);
  CHECK(store->reassign_person("p-surviving", "p-surviving") == 0);
}

TEST_CASE("remove_patient_identifier takes an unlinked identifier off its old Patient", "[store][identity]") {
  TempDir dir;
  auto store = phrgate::store::open_sqlite_store(dir.file("phr.db"));
  auto p = patient("p1", "urn:a", "A1");
  std::string json = p.json;
  phrgate::store::IdentifierPairs ids = p.identifiers;
  REQUIRE(phrgate::store::add_patient_identifiers(json, ids, {{"urn:b", "B7"}, {"urn:a", "A1"}}));
  CHECK(ids.size() == 2);
  p.json = json;
  p.identifiers = ids;
  store->write({p});
  REQUIRE(store->find_patients_by_identifier("urn:b", "B7", 0, 1).total == 1);

  CHECK(store->remove_patient_identifier("p1", "urn:b", "B7"));
  CHECK(store->find_patients_by_identifier("urn:b", "B7", 0, 1).total == 0);
  CHECK(store->find_patients_by_identifier("urn:a", "A1", 0, 1).total == 1);
  auto now = store->read("Patient", "p1");
  REQUIRE(now);
  CHECK(now->json.find("B7") == std::string::npos);
  CHECK(now->version == 2);
  CHECK_FALSE(store->remove_patient_identifier("p1", "urn:b", "B7"));
  CHECK_FALSE(store->remove_patient_identifier("nobody", "urn:a", "A1"));
}
