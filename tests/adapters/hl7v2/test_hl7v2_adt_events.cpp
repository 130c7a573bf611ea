// Tests for the ADT events beyond A01/A04/A08: Encounter status and period per event (A02
// transfer, A03 discharge, A05 pre-admit, A11/A12/A13 cancels with the A01's Encounter id),
// patient-only events (A28/A31), the A17 swap (two patients), the A40 merge (Patient.link
// both ways) and A60 (IAM -> AllergyIntolerance with action codes), plus IN1 -> Coverage.
// Hand-written messages, the shipped mapping tables; asserts real values.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_acceptance.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "gateway/core/resource_id.h"
#include "tests/adapters/hl7v2/converted_message.h"
#include "tests/adapters/hl7v2/fhir_checks.h"
#include "tests/adapters/hl7v2/hl7v2_test_messages.h"

using namespace phrgate;

namespace {

using testing::code_maps;
using testing::join;
using testing::seg;

using test::Converted;
using test::convert;
using test::str;

std::string msh(std::string_view type, std::string_view control_id) {
  return seg("MSH", {{3, "EPIC"}, {4, "GOODHEALTH"}, {7, "20260315090000"}, {9, type},
                     {10, control_id}, {11, "P"}, {12, "2.5.1"}});
}

const std::string kPid = seg("PID", {{1, "1"}, {3, "123456^^^GOODHEALTH^MR"}, {5, "Doe^Jane"},
                                     {7, "19800215"}, {8, "F"}});

std::string pv1(std::string_view cls, std::string_view location, std::string_view prior = {},
                std::string_view discharge = {}) {
  return seg("PV1", {{1, "1"}, {2, cls}, {3, location}, {6, prior}, {19, "V0001^^^GOODHEALTH^VN"},
                     {44, "20260315083000"}, {45, discharge}});
}

std::string adt(std::string_view event, std::string_view control_id, const std::string& visit,
                std::string_view evn6 = {}) {
  std::string type = "ADT^";
  type += event;
  return join({msh(type, control_id), seg("EVN", {{1, event}, {2, "20260316100000"}, {6, evn6}}), kPid, visit});
}

std::string encounter_status(const Converted& c) { return str(c.one("Encounter")["status"]); }

}  // namespace

TEST_CASE("ADT events set the Encounter status; cancels update the A01's Encounter") {
  const Converted a01 = convert(adt("A01", "M1", pv1("I", "4E^401^A")));
  const std::string id = str(a01.one("Encounter")["id"]);
  CHECK(encounter_status(a01) == "in-progress");

  // A02 transfer: new location active, the one left (PV1-6) completed.
  const Converted a02 = convert(adt("A02", "M2", pv1("I", "5W^502^B", "4E^401^A")));
  CHECK(str(a02.one("Encounter")["id"]) == id);
  CHECK(encounter_status(a02) == "in-progress");
  const auto& loc = a02.one("Encounter")["location"];
  REQUIRE(loc.Size() == 2);
  CHECK(str(loc[0]["location"]["display"]) == "4E 401 A");
  CHECK(str(loc[0]["status"]) == "completed");
  CHECK(str(loc[1]["location"]["display"]) == "5W 502 B");
  CHECK(str(loc[1]["status"]) == "active");
  CHECK(str(a02.one("Provenance")["activity"]["coding"][0]["code"]) == "UPDATE");

  // A03 discharge: finished, period end from PV1-45.
  const Converted a03 = convert(adt("A03", "M3", pv1("I", "5W^502^B", {}, "20260320120000")));
  CHECK(str(a03.one("Encounter")["id"]) == id);
  CHECK(encounter_status(a03) == "finished");
  CHECK(str(a03.one("Encounter")["period"]["end"]) == "2026-03-20T12:00:00Z");
  CHECK(str(a03.one("Encounter")["location"][0]["status"]) == "completed");
  // ... or from EVN-6 when PV1-45 is empty.
  const Converted a03_evn = convert(adt("A03", "M3b", pv1("I", "5W^502^B"), "20260320130000"));
  CHECK(encounter_status(a03_evn) == "finished");
  CHECK(str(a03_evn.one("Encounter")["period"]["end"]) == "2026-03-20T13:00:00Z");

  // A11 cancel admit: same Encounter, cancelled.
  const Converted a11 = convert(adt("A11", "M4", pv1("I", "4E^401^A")));
  CHECK(str(a11.one("Encounter")["id"]) == id);
  CHECK(encounter_status(a11) == "cancelled");

  // A13 cancel discharge: back to in-progress, without an end even if PV1-45 is sent.
  const Converted a13 = convert(adt("A13", "M5", pv1("I", "5W^502^B", {}, "20260320120000")));
  CHECK(str(a13.one("Encounter")["id"]) == id);
  CHECK(encounter_status(a13) == "in-progress");
  CHECK(str(a13.one("Encounter")["period"]["start"]) == "2026-03-15T08:30:00Z");
  CHECK_FALSE(a13.one("Encounter")["period"].HasMember("end"));

  // A12 cancel transfer: in-progress at the restored location only.
  const Converted a12 = convert(adt("A12", "M6", pv1("I", "4E^401^A", "5W^502^B")));
  CHECK(str(a12.one("Encounter")["id"]) == id);
  CHECK(encounter_status(a12) == "in-progress");
  CHECK(a12.one("Encounter")["location"].Size() == 1);

  // A05 pre-admit: planned, whatever PV1-2 says; A06/A07 follow PV1-2.
  CHECK(encounter_status(convert(adt("A05", "M7", pv1("I", "4E")))) == "planned");
  CHECK(encounter_status(convert(adt("A06", "M8", pv1("I", "4E")))) == "in-progress");
  const Converted a07 = convert(adt("A07", "M9", pv1("O", "CLINIC")));
  CHECK(encounter_status(a07) == "in-progress");
  CHECK(str(a07.one("Encounter")["class"]["code"]) == "AMB");
}

TEST_CASE("ADT A28 and A31 write the Patient only, no Encounter") {
  for (const char* event : {"A28", "A31"}) {
    const Converted c = convert(adt(event, "P1", pv1("N", {})));
    CHECK(c.all("Encounter").empty());
    CHECK(c.all("Patient").size() == 1);
    CHECK(str(c.one("Patient")["name"][0]["family"]) == "Doe");
  }
}

TEST_CASE("ADT A17 swaps beds: two patients, each with its own Encounter") {
  const std::string raw =
      join({msh("ADT^A17^ADT_A17", "SW1"), seg("EVN", {{1, "A17"}, {2, "20260316100000"}}), kPid,
            pv1("I", "4E^401^A"), seg("OBX", {{1, "1"}, {2, "NM"}, {3, "8302-2^Height^LN"}, {5, "170"}, {6, "cm"}}),
            seg("PID", {{1, "2"}, {3, "999888^^^GOODHEALTH^MR"}, {5, "Roe^Richard"}}),
            seg("PV1", {{1, "1"}, {2, "I"}, {3, "4E^402^B"}, {19, "V0002^^^GOODHEALTH^VN"}}),
            seg("OBX", {{1, "1"}, {2, "NM"}, {3, "8302-2^Height^LN"}, {5, "180"}, {6, "cm"}})});
  const Converted c = convert(raw);
  REQUIRE(c.all("Patient").size() == 2);
  REQUIRE(c.all("Encounter").size() == 2);
  REQUIRE(c.all("Observation").size() == 2);
  const std::string first = str(c.all("Patient")[0]["id"]);
  const std::string second = str(c.all("Patient")[1]["id"]);
  CHECK(first == c.result.person_id);
  CHECK(first != second);
  CHECK(str(c.all("Encounter")[1]["subject"]["reference"]) == "Patient/" + second);
  CHECK(str(c.all("Encounter")[1]["location"][0]["location"]["display"]) == "4E 402 B");
  CHECK(c.person_of.at("Encounter")[1] == second);
  CHECK(str(c.all("Observation")[1]["subject"]["reference"]) == "Patient/" + second);
  CHECK(c.all("Observation")[1]["valueQuantity"]["value"].GetDouble() == Approx(180));
  CHECK(str(c.all("Observation")[0]["id"]) != str(c.all("Observation")[1]["id"]));
  // One PID in an A17 is fine too; two PIDs in an A01 are still refused.
  hl7v2::ParseError perr;
  const std::string two = join({msh("ADT^A01", "X1"), kPid, kPid});
  auto msg = hl7v2::Message::parse(two, &perr);
  REQUIRE(msg);
  CHECK(hl7v2::convert_to_fhir(*msg, {}).error_location == "PID");
}

TEST_CASE("ADT A40 merge: links replaces / replaced-by between the two Patient records") {
  const std::string raw =
      join({msh("ADT^A40^ADT_A39", "MG1"), seg("EVN", {{1, "A40"}, {2, "20260316100000"}}), kPid,
            seg("MRG", {{1, "654321^^^GOODHEALTH^MR~X99^^^OTHER^PI"}, {7, "Doe^Janet"}})});
  const Converted c = convert(raw);
  REQUIRE(c.all("Patient").size() == 2);
  CHECK(c.all("Encounter").empty());
  const auto& survivor = c.all("Patient")[0];
  const auto& prior = c.all("Patient")[1];
  const std::string prior_id =
      derive_resource_id("Patient", {"urn:phrgate:assigner:GOODHEALTH", "654321"});
  CHECK(str(prior["id"]) == prior_id);
  CHECK(str(survivor["link"][0]["type"]) == "replaces");
  CHECK(str(survivor["link"][0]["other"]["reference"]) == "Patient/" + prior_id);
  CHECK(str(prior["link"][0]["type"]) == "replaced-by");
  CHECK(str(prior["link"][0]["other"]["reference"]) == "Patient/" + c.result.person_id);
  CHECK(prior["active"].IsFalse());
  CHECK(prior["identifier"].Size() == 2);
  CHECK(str(prior["name"][0]["given"][0]) == "Janet");
  CHECK(c.person_of.at("Patient")[1] == prior_id);  // stays in its own compartment

  // Without MRG the merge is refused (converter and acceptance agree).
  const std::string bad = join({msh("ADT^A40", "MG2"), kPid});
  hl7v2::ParseError perr;
  auto msg = hl7v2::Message::parse(bad, &perr);
  REQUIRE(msg);
  CHECK(hl7v2::convert_to_fhir(*msg, {}).error_location == "MRG");
  CHECK(hl7v2::check_acceptance(*msg).code == hl7v2::AckCode::AE);
  CHECK(hl7v2::check_acceptance(*msg).location == "MRG");
}

TEST_CASE("ADT A34 and A39 merge like A40; A39 reads MRG-4 when MRG-1 is empty; A35 merges no patients") {
  const std::string prior_id = derive_resource_id("Patient", {"urn:phrgate:assigner:GOODHEALTH", "654321"});
  // A34 (merge patient information, patient id only), the form before A40.
  const Converted a34 = convert(join({msh("ADT^A34^ADT_A30", "MG34"), seg("EVN", {{1, "A34"}}), kPid,
                                      seg("MRG", {{1, "654321^^^GOODHEALTH^MR"}})}));
  REQUIRE(a34.all("Patient").size() == 2);
  CHECK(str(a34.all("Patient")[0]["link"][0]["type"]) == "replaces");
  CHECK(str(a34.all("Patient")[1]["id"]) == prior_id);
  CHECK(str(a34.all("Patient")[1]["link"][0]["type"]) == "replaced-by");
  CHECK(a34.all("Encounter").empty());

  // A39 (merge person) from a 2.3 sender: the prior id only in MRG-4; two PID/MRG groups.
  const std::string pid2 = seg("PID", {{1, "1"}, {3, "777001^^^GOODHEALTH^MR"}, {5, "Roe^Alex"}, {7, "19800202"}, {8, "M"}});
  const Converted a39 = convert(join({msh("ADT^A39^ADT_A39", "MG39"), seg("EVN", {{1, "A39"}}), kPid,
                                      seg("MRG", {{4, "654321^^^GOODHEALTH^MR"}}), pid2,
                                      seg("MRG", {{1, "777002^^^GOODHEALTH^MR"}})}));
  REQUIRE(a39.all("Patient").size() == 4);
  CHECK(str(a39.all("Patient")[1]["id"]) == prior_id);
  CHECK(str(a39.all("Patient")[1]["identifier"][0]["value"]) == "654321");
  CHECK(str(a39.all("Patient")[3]["id"]) ==
        derive_resource_id("Patient", {"urn:phrgate:assigner:GOODHEALTH", "777002"}));
  CHECK(str(a39.all("Patient")[3]["link"][0]["other"]["reference"]) ==
        "Patient/" + str(a39.all("Patient")[2]["id"]));

  // A35 merges account numbers only: the Patient is updated, nobody is merged.
  const Converted a35 = convert(join({msh("ADT^A35^ADT_A30", "MG35"), seg("EVN", {{1, "A35"}}), kPid,
                                      seg("MRG", {{1, "654321^^^GOODHEALTH^MR"}, {3, "ACC-1"}})}));
  REQUIRE(a35.all("Patient").size() == 1);
  CHECK_FALSE(a35.all("Patient")[0].HasMember("link"));
  CHECK(a35.all("Encounter").empty());

  // Each of them needs its MRG.
  for (const char* type : {"ADT^A34", "ADT^A35", "ADT^A39"}) {
    hl7v2::ParseError perr;
    auto msg = hl7v2::Message::parse(join({msh(type, "MGX"), kPid}), &perr);
    REQUIRE(msg);
    CHECK(hl7v2::convert_to_fhir(*msg, {}).error_location == "MRG");
    CHECK(hl7v2::check_acceptance(*msg).location == "MRG");
  }
}

TEST_CASE("ADT A60: IAM becomes AllergyIntolerance; D deletes (entered-in-error); same id as AL1") {
  auto iam = [](std::string_view action) {
    return join({msh("ADT^A60^ADT_A60", std::string("AL-") + std::string(action)), kPid,
                 seg("IAM", {{1, "1"}, {2, "DA^Drug allergy^HL70127"}, {3, "7980^Penicillin G^RXNORM"},
                             {4, "SV^Severe^HL70128"}, {5, "Hives"}, {6, std::string(action) + "^^HL70323"},
                             {7, "AL-77^EPIC"}, {11, "20190704"}, {13, "20260310101500"}}),
                 seg("NTE", {{1, "1"}, {3, "Confirmed by challenge test"}})});
  };
  const Converted add = convert(iam("A"));
  CHECK(add.all("Encounter").empty());
  const auto& a = add.one("AllergyIntolerance");
  CHECK(str(a["clinicalStatus"]["coding"][0]["code"]) == "active");
  CHECK(str(a["category"][0]) == "medication");
  CHECK(str(a["criticality"]) == "high");
  CHECK(str(a["identifier"][0]["value"]) == "AL-77");
  CHECK(str(a["onsetDateTime"]) == "2019-07-04");
  CHECK(str(a["recordedDate"]) == "2026-03-10T10:15:00Z");
  CHECK(str(a["reaction"][0]["manifestation"][0]["text"]) == "Hives");
  CHECK(str(a["note"][0]["text"]) == "Confirmed by challenge test");

  const Converted update = convert(iam("U"));
  CHECK(str(update.one("AllergyIntolerance")["id"]) == str(a["id"]));
  CHECK(str(update.one("AllergyIntolerance")["clinicalStatus"]["coding"][0]["code"]) == "active");

  const Converted del = convert(iam("D"));
  const auto& d = del.one("AllergyIntolerance");
  CHECK(str(d["id"]) == str(a["id"]));
  CHECK(str(d["verificationStatus"]["coding"][0]["code"]) == "entered-in-error");
  CHECK_FALSE(d.HasMember("clinicalStatus"));

  // The AL1 of an A01 for the same allergen names the same resource.
  const Converted al1 = convert(join({msh("ADT^A01", "AL1"), kPid,
                                      seg("AL1", {{1, "1"}, {2, "DA"}, {3, "7980^Penicillin G^RXNORM"}})}));
  CHECK(str(al1.one("AllergyIntolerance")["id"]) == str(a["id"]));
}

TEST_CASE("IN1 becomes Coverage with a contained payor, subscriber and relationship") {
  const std::string raw = join(
      {msh("ADT^A01", "INS1"), kPid, pv1("I", "4E"),
       seg("IN1", {{1, "1"}, {2, "PLAN01^Gold PPO^L"}, {3, "INS77^^^GOODHEALTH"}, {4, "Acme Health Insurance"},
                   {5, "PO Box 1^^Springfield^IL^62701"}, {7, "^WPN^PH^^1^800^5550000"}, {8, "GRP-9"},
                   {9, "Acme Corp"}, {12, "20260101"}, {13, "20261231"}, {15, "PPO"}, {16, "Doe^John"},
                   {17, "SPO^Spouse^HL70063"}, {36, "POL-123"}}),
       seg("IN1", {{1, "2"}, {4, "Self Pay Trust"}, {17, "SEL"}})});
  const Converted c = convert(raw);
  REQUIRE(c.all("Coverage").size() == 2);
  const auto& cov = c.all("Coverage")[0];
  CHECK(str(cov["status"]) == "active");
  CHECK(str(cov["contained"][0]["resourceType"]) == "Organization");
  CHECK(str(cov["contained"][0]["name"]) == "Acme Health Insurance");
  CHECK(str(cov["contained"][0]["identifier"][0]["value"]) == "INS77");
  CHECK(str(cov["contained"][0]["address"][0]["city"]) == "Springfield");
  CHECK(str(cov["payor"][0]["reference"]) == "#payor");
  CHECK(str(cov["subscriber"]["display"]) == "John Doe");
  CHECK(str(cov["subscriberId"]) == "POL-123");
  CHECK(str(cov["relationship"]["coding"][0]["code"]) == "spouse");
  CHECK(str(cov["beneficiary"]["reference"]) == "Patient/" + c.result.person_id);
  CHECK(str(cov["period"]["start"]) == "2026-01-01");
  CHECK(str(cov["period"]["end"]) == "2026-12-31");
  CHECK(str(cov["class"][0]["value"]) == "GRP-9");
  CHECK(str(cov["class"][0]["name"]) == "Acme Corp");
  CHECK(str(cov["identifier"][0]["value"]) == "PLAN01");
  const auto& self = c.all("Coverage")[1];
  CHECK(str(self["subscriber"]["reference"]) == "Patient/" + c.result.person_id);
  CHECK(str(self["relationship"]["coding"][0]["code"]) == "self");
}
