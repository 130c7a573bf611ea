// Tests for the ADT clinical segments, VXU and orders: AL1 -> AllergyIntolerance, DG1 ->
// Condition, PR1 -> Procedure, NK1 -> RelatedPerson, RXA/RXR -> Immunization, ORC/OBR ->
// ServiceRequest. Hand-written messages; asserts real values (codes with systems, dates,
// statuses, references), the Provenance covering them, and ids stable on re-send. Uses the
// shipped mapping tables (mappings/).
#include <catch2/catch.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_acceptance.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "tests/adapters/hl7v2/converted_message.h"
#include "tests/adapters/hl7v2/fhir_checks.h"
#include "tests/adapters/hl7v2/hl7v2_test_messages.h"

using namespace phrgate;

namespace {

using testing::seg;
using testing::join;
using testing::code_maps;

using test::Converted;
using test::convert;
using test::str;

std::string msh(std::string_view type, std::string_view control_id) {
  return seg("MSH", {{3, "EPIC"}, {4, "GOODHEALTH"}, {7, "20260315090000"}, {9, type},
                     {10, control_id}, {11, "P"}, {12, "2.5.1"}});
}

const std::string kPid = seg("PID", {{1, "1"}, {3, "123456^^^GOODHEALTH^MR"}, {5, "Doe^Jane"},
                                     {7, "19800215"}, {8, "F"}});
const std::string kPv1 = seg("PV1", {{1, "1"}, {2, "I"}, {19, "V0001^^^GOODHEALTH^VN"}});

std::string adt(std::string_view control_id, std::string_view dg1_action = "A") {
  return join({msh("ADT^A01^ADT_A01", control_id), kPid,
               seg("NK1", {{1, "1"}, {2, "Doe^John^Q"}, {3, "SPO^Spouse^HL70063"},
                           {4, "1 Main St^^Springfield^IL^62701"}, {5, "^PRN^PH^^1^217^5551234"},
                           {6, "^WPN^PH^^1^217^5559999"}}),
               seg("NK1", {{1, "2"}, {7, "EMP^Employer^HL70131"}}),  // nobody: skipped
               kPv1,
               seg("AL1", {{1, "1"}, {2, "DA^Drug allergy^HL70127"}, {3, "7980^Penicillin G^RXNORM"},
                           {4, "SV^Severe^HL70128"}, {5, "Hives~Wheezing"}, {6, "20190704"}}),
               seg("AL1", {{1, "2"}, {2, "FA"}, {3, "^Peanuts"}, {4, "MI"}}),
               seg("AL1", {{1, "3"}, {2, "MC"}, {3, "^Peanuts"}}),  // same allergen: written once
               seg("DG1", {{1, "1"}, {2, "I10"}, {3, "I10^Essential hypertension^I10"},
                           {5, "20260301"}, {6, "A"}, {19, "20260315101500"}, {21, dg1_action}}),
               seg("PR1", {{1, "1"}, {2, "C4"}, {3, "44950^Appendectomy^C4"},
                           {5, "20260315113000"}})});
}

const rapidjson::Value& coding0(const rapidjson::Value& cc) {
  REQUIRE(cc.HasMember("coding"));
  return cc["coding"][0];
}

}  // namespace

TEST_CASE("AL1 becomes AllergyIntolerance with IG category, criticality and reaction") {
  const Converted c = convert(adt("MSG1"));
  const auto& allergies = c.all("AllergyIntolerance");
  REQUIRE(allergies.size() == 2);
  const auto& pen = allergies[0];
  CHECK(str(coding0(pen["clinicalStatus"])["code"]) == "active");
  CHECK(str(coding0(pen["clinicalStatus"])["system"]) ==
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical");
  CHECK(str(pen["category"][0]) == "medication");
  CHECK(str(pen["type"]) == "allergy");
  CHECK(str(pen["criticality"]) == "high");
  CHECK(str(coding0(pen["code"])["system"]) == "http://www.nlm.nih.gov/research/umls/rxnorm");
  CHECK(str(coding0(pen["code"])["code"]) == "7980");
  CHECK(str(pen["onsetDateTime"]) == "2019-07-04");
  CHECK(str(pen["patient"]["reference"]) == "Patient/" + c.result.person_id);
  REQUIRE(pen["reaction"].Size() == 1);
  CHECK(pen["reaction"][0]["manifestation"].Size() == 2);
  CHECK(str(pen["reaction"][0]["manifestation"][1]["text"]) == "Wheezing");
  CHECK(str(pen["reaction"][0]["severity"]) == "severe");

  const auto& peanut = allergies[1];
  CHECK(str(peanut["category"][0]) == "food");
  CHECK(str(peanut["criticality"]) == "low");
  CHECK(str(peanut["code"]["text"]) == "Peanuts");
  CHECK_FALSE(peanut.HasMember("reaction"));
}

TEST_CASE("DG1 becomes an encounter-diagnosis Condition; D action -> entered-in-error") {
  const Converted c = convert(adt("MSG1"));
  REQUIRE(c.all("Condition").size() == 1);
  const auto& dx = c.all("Condition")[0];
  CHECK(str(coding0(dx["code"])["system"]) == "http://hl7.org/fhir/sid/icd-10");
  CHECK(str(coding0(dx["code"])["code"]) == "I10");
  CHECK(str(coding0(dx["category"][0])["code"]) == "encounter-diagnosis");
  CHECK(str(coding0(dx["clinicalStatus"])["code"]) == "active");
  CHECK_FALSE(dx.HasMember("verificationStatus"));
  CHECK(str(dx["onsetDateTime"]) == "2026-03-01");
  CHECK(str(dx["recordedDate"]) == "2026-03-15T10:15:00Z");
  CHECK(str(dx["subject"]["reference"]) == "Patient/" + c.result.person_id);
  CHECK(str(dx["encounter"]["reference"]) == "Encounter/" + c.ids.at("Encounter")[0]);

  const Converted deleted = convert(adt("MSG2", "D"));
  const auto& gone = deleted.all("Condition")[0];
  CHECK(str(coding0(gone["verificationStatus"])["code"]) == "entered-in-error");
  CHECK_FALSE(gone.HasMember("clinicalStatus"));
  CHECK(deleted.ids.at("Condition") == c.ids.at("Condition"));  // the same diagnosis
}

TEST_CASE("PR1 becomes a completed Procedure; NK1 becomes RelatedPerson") {
  const Converted c = convert(adt("MSG1"));
  REQUIRE(c.all("Procedure").size() == 1);
  const auto& proc = c.all("Procedure")[0];
  CHECK(str(proc["status"]) == "completed");
  CHECK(str(coding0(proc["code"])["system"]) == "http://www.ama-assn.org/go/cpt");
  CHECK(str(coding0(proc["code"])["code"]) == "44950");
  CHECK(str(proc["performedDateTime"]) == "2026-03-15T11:30:00Z");
  CHECK(str(proc["subject"]["reference"]) == "Patient/" + c.result.person_id);

  REQUIRE(c.all("RelatedPerson").size() == 1);  // the employer-only NK1 is skipped
  const auto& rp = c.all("RelatedPerson")[0];
  CHECK(str(rp["patient"]["reference"]) == "Patient/" + c.result.person_id);
  // IG Relationship map first (v3-RoleCode), then the sender's v2-0063 coding.
  const auto& rel = rp["relationship"][0]["coding"];
  REQUIRE(rel.Size() == 2);
  CHECK(str(rel[0]["system"]) == "http://terminology.hl7.org/CodeSystem/v3-RoleCode");
  CHECK(str(rel[0]["code"]) == "SPS");
  CHECK(str(rel[1]["system"]) == "http://terminology.hl7.org/CodeSystem/v2-0063");
  CHECK(str(rel[1]["code"]) == "SPO");
  CHECK(str(rp["name"][0]["family"]) == "Doe");
  CHECK(str(rp["name"][0]["given"][0]) == "John");
  REQUIRE(rp["telecom"].Size() == 2);
  CHECK(str(rp["telecom"][0]["use"]) == "home");
  CHECK(str(rp["telecom"][1]["use"]) == "work");
  CHECK(str(rp["address"][0]["city"]) == "Springfield");
}

TEST_CASE("ADT clinical resources: Provenance covers them, ids stable on re-send") {
  const Converted first = convert(adt("MSG1"));
  const Converted again = convert(adt("MSG9"));  // re-sent with a new control id
  for (const char* type : {"AllergyIntolerance", "Condition", "Procedure", "RelatedPerson"}) {
    INFO(type);
    REQUIRE(first.ids.count(type) == 1);
    CHECK(first.ids.at(type) == again.ids.at(type));
  }
  const auto& prov = first.all("Provenance")[0];
  std::vector<std::string> targets;
  for (const auto& t : prov["target"].GetArray()) targets.push_back(str(t["reference"]));
  for (const auto& r : first.result.resources)
    if (r.type != "Provenance")
      CHECK(std::find(targets.begin(), targets.end(), r.type + "/" + r.id) != targets.end());
  CHECK(first.result.resources.back().type == "Provenance");
}

namespace {

std::string vxu(std::string_view control_id) {
  return join({msh("VXU^V04^VXU_V04", control_id), kPid,
               seg("NK1", {{1, "1"}, {2, "Doe^Mary"}, {3, "MTH^Mother^HL70063"}}),
               seg("ORC", {{1, "RE"}, {3, "IZ-783274^NDA"}}),
               seg("RXA", {{1, "0"}, {2, "1"}, {3, "20260110101500"}, {5, "08^Hep B, adolescent or pediatric^CVX"},
                           {6, "0.5"}, {7, "mL^milliliter^UCUM"}, {9, "00^New immunization record^NIP001"},
                           {15, "LOT-4711"}, {16, "20271231"}, {17, "MSD^Merck and Co^MVX"},
                           {20, "CP"}, {21, "A"}}),
               seg("RXR", {{1, "IM^Intramuscular^HL70162"}, {2, "LD^Left deltoid^HL70163"}}),
               seg("OBX", {{1, "1"}, {2, "CE"}, {3, "64994-7^Vaccine funding program eligibility^LN"},
                           {4, "1"}, {5, "V02^VFC eligible - Medicaid^HL70064"}, {11, "F"},
                           {14, "20260110"}}),
               seg("ORC", {{1, "RE"}, {3, "IZ-783275^NDA"}}),
               seg("RXA", {{1, "0"}, {2, "1"}, {3, "20260110"}, {5, "03^MMR^CVX"}, {6, "999"},
                           {18, "00^Parental decision^NIP002"}, {20, "RE"}})});
}

}  // namespace

TEST_CASE("VXU^V04: RXA/RXR become Immunizations; refusal is not-done with a reason") {
  hl7v2::MessageHeader h;
  h.message_code = "VXU";
  h.trigger_event = "V04";
  CHECK(hl7v2::is_supported(h));

  const Converted c = convert(vxu("VXU1"));
  const auto& imms = c.all("Immunization");
  REQUIRE(imms.size() == 2);
  const auto& hepb = imms[0];
  CHECK(str(hepb["status"]) == "completed");
  CHECK(str(coding0(hepb["vaccineCode"])["system"]) == "http://hl7.org/fhir/sid/cvx");
  CHECK(str(coding0(hepb["vaccineCode"])["code"]) == "08");
  CHECK(str(hepb["occurrenceDateTime"]) == "2026-01-10T10:15:00Z");
  CHECK(hepb["doseQuantity"]["value"].GetDouble() == Approx(0.5));
  CHECK(str(hepb["doseQuantity"]["code"]) == "mL");
  CHECK(str(hepb["lotNumber"]) == "LOT-4711");
  CHECK(str(hepb["expirationDate"]) == "2027-12-31");
  CHECK(str(hepb["manufacturer"]["identifier"]["value"]) == "MSD");
  CHECK(str(hepb["manufacturer"]["display"]) == "Merck and Co");
  CHECK(hepb["primarySource"].GetBool());
  CHECK(str(coding0(hepb["route"])["system"]) == "http://terminology.hl7.org/CodeSystem/v2-0162");
  CHECK(str(coding0(hepb["route"])["code"]) == "IM");
  CHECK(str(coding0(hepb["site"])["code"]) == "LD");
  CHECK(str(hepb["patient"]["reference"]) == "Patient/" + c.result.person_id);

  const auto& mmr = imms[1];
  CHECK(str(mmr["status"]) == "not-done");
  CHECK(str(coding0(mmr["statusReason"])["code"]) == "00");
  CHECK(str(coding0(mmr["vaccineCode"])["code"]) == "03");
  CHECK(str(mmr["occurrenceDateTime"]) == "2026-01-10");
  CHECK_FALSE(mmr.HasMember("doseQuantity"));  // 999 = amount unknown
  CHECK_FALSE(mmr.HasMember("route"));         // the RXR belongs to the first RXA

  REQUIRE(c.all("RelatedPerson").size() == 1);
  const auto& mother = c.all("RelatedPerson")[0]["relationship"][0]["coding"];
  CHECK(str(mother[0]["code"]) == "MTH");  // v3-RoleCode MTH
  CHECK(c.all("Observation").size() == 1);  // the VXU's OBX
  const Converted again = convert(vxu("VXU2"));
  CHECK(again.ids.at("Immunization") == c.ids.at("Immunization"));
}

TEST_CASE("NK1-3 codes outside table 0063 are the sender's own, not v2-0063") {
  const Converted c = convert(join({msh("ADT^A04^ADT_A01", "MSG5"), kPid,
                                    seg("NK1", {{1, "1"}, {2, "Doe^Jim"}, {3, "SO^Son"}})}));
  REQUIRE(c.all("RelatedPerson").size() == 1);
  const auto& coding = c.all("RelatedPerson")[0]["relationship"][0]["coding"];
  REQUIRE(coding.Size() == 1);
  CHECK(str(coding[0]["system"]) == "urn:phrgate:codesystem:GOODHEALTH:L");
  CHECK(str(coding[0]["code"]) == "SO");
}

TEST_CASE("VXU^V04 without RXA is rejected by the converter and by acceptance") {
  std::string raw = join({msh("VXU^V04^VXU_V04", "VXU3"), kPid});
  hl7v2::ParseError perr;
  auto msg = hl7v2::Message::parse(raw, &perr);
  REQUIRE(msg);
  hl7v2::ConvertOptions opt;
  opt.source_name = "test_source";
  const auto r = hl7v2::convert_to_fhir(*msg, opt);
  CHECK_FALSE(r.ok);
  CHECK(r.error_location == "RXA");
  const auto a = hl7v2::check_acceptance(*msg, "P");
  CHECK(a.code == hl7v2::AckCode::AE);
}

namespace {

std::string orm(std::string_view type, std::string_view control_id, std::string_view orc1,
                std::string_view orc5 = {}) {
  return join({msh(type, control_id), kPid, kPv1,
               seg("ORC", {{1, orc1}, {2, "PL1001^EPIC"}, {3, "FL2002^GOODLAB"}, {5, orc5},
                           {9, "20260315093000"}, {12, "1234^Welby^Marcus^^^Dr"}}),
               seg("OBR", {{1, "1"}, {2, "PL1001^EPIC"}, {3, "FL2002^GOODLAB"},
                           {4, "2345-7^Glucose [Mass/volume] in Serum or Plasma^LN"}})});
}

}  // namespace

TEST_CASE("ORM^O01 / OML^O21: ORC/OBR become a ServiceRequest; CA -> revoked, same id") {
  const Converted c = convert(orm("ORM^O01^ORM_O01", "ORD1", "NW"));
  REQUIRE(c.all("ServiceRequest").size() == 1);
  const auto& sr = c.all("ServiceRequest")[0];
  CHECK(str(sr["status"]) == "active");
  CHECK(str(sr["intent"]) == "order");
  CHECK(str(coding0(sr["code"])["system"]) == "http://loinc.org");
  CHECK(str(coding0(sr["code"])["code"]) == "2345-7");
  REQUIRE(sr["identifier"].Size() == 2);
  CHECK(str(sr["identifier"][0]["value"]) == "PL1001");
  CHECK(str(coding0(sr["identifier"][0]["type"])["code"]) == "PLAC");
  CHECK(str(sr["identifier"][1]["value"]) == "FL2002");
  CHECK(str(coding0(sr["identifier"][1]["type"])["code"]) == "FILL");
  CHECK(str(sr["authoredOn"]) == "2026-03-15T09:30:00Z");
  CHECK(str(sr["requester"]["display"]) == "Dr Marcus Welby");
  CHECK(str(sr["subject"]["reference"]) == "Patient/" + c.result.person_id);
  CHECK(str(sr["encounter"]["reference"]) == "Encounter/" + c.ids.at("Encounter")[0]);
  for (const auto& r : c.result.resources)  // an order message does not overwrite demographics
    if (r.type == "Patient" || r.type == "Encounter") CHECK(r.only_if_absent);

  const Converted cancel = convert(orm("ORM^O01^ORM_O01", "ORD2", "CA"));
  CHECK(str(cancel.all("ServiceRequest")[0]["status"]) == "revoked");
  CHECK(cancel.ids.at("ServiceRequest") == c.ids.at("ServiceRequest"));

  const Converted done = convert(orm("OML^O21^OML_O21", "ORD3", "SC", "CM"));  // ORC-5 first
  CHECK(str(done.all("ServiceRequest")[0]["status"]) == "completed");
  CHECK(done.ids.at("ServiceRequest") == c.ids.at("ServiceRequest"));
}

TEST_CASE("ORM^O01 without OBR (e.g. a pharmacy order) is rejected, never half-converted") {
  std::string raw = join({msh("ORM^O01^ORM_O01", "ORD4"), kPid, seg("ORC", {{1, "NW"}}),
                          seg("RXO", {{1, "RX123^Amoxicillin"}})});
  hl7v2::ParseError perr;
  auto msg = hl7v2::Message::parse(raw, &perr);
  REQUIRE(msg);
  hl7v2::ConvertOptions opt;
  opt.source_name = "test_source";
  const auto r = hl7v2::convert_to_fhir(*msg, opt);
  CHECK_FALSE(r.ok);
  CHECK(r.error_location == "OBR");
  CHECK(hl7v2::check_acceptance(*msg, "P").code == hl7v2::AckCode::AE);
}

namespace {

// Records every unmapped-code report (source, system, code).
struct RecordingSink final : mapping::UnmappedCodeSink {
  std::vector<std::string> reports;
  void unmapped(std::string_view source, std::string_view system, std::string_view code, std::string_view) override {
    reports.push_back(std::string(source) + "|" + std::string(system) + "|" + std::string(code));
  }
};

hl7v2::ConvertResult convert_with(const std::string& raw, mapping::UnmappedCodeSink* sink) {
  hl7v2::ParseError perr;
  auto msg = hl7v2::Message::parse(raw, &perr);
  REQUIRE(msg);
  hl7v2::ConvertOptions opt;
  opt.source_name = "test_source";
  opt.code_maps = &code_maps();
  opt.unmapped = sink;
  auto out = hl7v2::convert_to_fhir(*msg, opt);
  REQUIRE(out.ok);
  return out;
}

}  // namespace

TEST_CASE("ORU: repeated OBX units, ranges, interpretations and times render alike, and report unmapped codes as before",
          "[hl7v2][oru][memo]") {
  // Three OBX share units, range, an unmapped interpretation ZZ and an unmapped unit; a fourth
  // uses other values. The converter renders repeats once per message (RenderMemo).
  auto obx = [](int n, std::string_view value, std::string_view units, std::string_view range,
                std::string_view flag) {
    return seg("OBX", {{1, std::to_string(n)}, {2, "NM"}, {3, "2345-7^Glucose^LN"}, {5, value}, {6, units},
                       {7, range}, {8, flag}, {11, "F"}, {14, "20260315080000"}});
  };
  const std::string raw =
      join({msh("ORU^R01", "MEMO-1"), kPid, seg("OBR", {{1, "1"}, {3, "F-1"}, {4, "GLU^Glucose^L"}}),
            obx(1, "98", "mg/dL^mg/dL^UCUM", "70-99", "ZZ"), obx(2, "99", "mg/dL^mg/dL^UCUM", "70-99", "ZZ"),
            obx(3, "97", "furlong^furlong^L", "70-99", "ZZ"), obx(4, "140", "mg/dL^mg/dL^UCUM", "70-110", "H")});
  RecordingSink sink;
  const auto out = convert_with(raw, &sink);
  std::vector<rapidjson::Document> obs;
  for (const auto& r : out.resources)
    if (r.type == "Observation") {
      obs.emplace_back();
      obs.back().Parse(r.json.data(), r.json.size());
    }
  REQUIRE(obs.size() == 4);
  auto json_of = [](const rapidjson::Value& v) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    v.Accept(w);
    return std::string(b.GetString());
  };
  CHECK(json_of(obs[0]["interpretation"]) == json_of(obs[1]["interpretation"]));
  CHECK(json_of(obs[0]["referenceRange"]) == json_of(obs[1]["referenceRange"]));
  CHECK(json_of(obs[0]["valueQuantity"]["unit"]) == json_of(obs[1]["valueQuantity"]["unit"]));
  CHECK(str(obs[0]["referenceRange"][0]["low"]["unit"]) == "mg/dL");
  CHECK(str(obs[2]["referenceRange"][0]["low"]["unit"]) == "furlong");  // same OBX-7, other units
  CHECK(str(obs[3]["interpretation"][0]["coding"][0]["code"]) == "H");
  CHECK(obs[3]["referenceRange"][0]["high"]["value"].GetDouble() == 110);
  CHECK(str(obs[0]["effectiveDateTime"]) == str(obs[3]["effectiveDateTime"]));
  // Each unmapped code is reported once per message, whichever OBX carried it first.
  auto count = [&](std::string_view code) {
    return std::count_if(sink.reports.begin(), sink.reports.end(),
                         [&](const std::string& r) { return r.size() >= code.size() && r.compare(r.size() - code.size(), code.size(), code) == 0; });
  };
  CHECK(count("|ZZ") == 1);
  CHECK(count("|furlong") == 1);
  // The next message starts with an empty memo: its own values, its own reports.
  RecordingSink second;
  const auto next = convert_with(join({msh("ORU^R01", "MEMO-2"), kPid, seg("OBR", {{1, "1"}, {3, "F-2"}, {4, "GLU^Glucose^L"}}),
                                      obx(1, "5", "mmol/L^mmol/L^UCUM", "70-99", "ZZ")}),
                                 &second);
  for (const auto& r : next.resources)
    if (r.type == "Observation") {
      rapidjson::Document d;
      d.Parse(r.json.data(), r.json.size());
      CHECK(str(d["referenceRange"][0]["low"]["unit"]) == "mmol/L");
    }
  CHECK(std::count_if(second.reports.begin(), second.reports.end(),
                      [](const std::string& r) { return r.find("|ZZ") != std::string::npos; }) == 1);
}
