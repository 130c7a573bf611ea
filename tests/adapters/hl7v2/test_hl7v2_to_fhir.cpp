// Tests for the HL7 v2 -> FHIR converter on hand-written ADT^A01/A04/A08 and ORU^R01
// messages: real values in the output JSON (ids, references, codes, times, quantities,
// ranges, notes, Provenance), determinism and id stability on re-send, and error cases.
// Uses the shipped mapping tables (mappings/) so the IG code maps are exercised too.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "gateway/core/resource_id.h"
#include "tests/adapters/hl7v2/fhir_checks.h"
#include "tests/adapters/hl7v2/hl7v2_test_messages.h"

using namespace phrgate;
using hl7v2::ConvertOptions;
using hl7v2::ConvertResult;
using hl7v2::ErrorCode;

namespace {

using testing::seg;
using testing::join;
using testing::code_maps;

struct Converted {
  std::string raw;  // the message text must outlive the parsed Message
  ConvertResult result;
  std::map<std::string, std::vector<rapidjson::Document>> by_type;

  const rapidjson::Document& one(const std::string& type) const {
    auto it = by_type.find(type);
    REQUIRE(it != by_type.end());
    REQUIRE(it->second.size() == 1);
    return it->second.front();
  }
  const std::vector<rapidjson::Document>& all(const std::string& type) const {
    static const std::vector<rapidjson::Document> none;
    auto it = by_type.find(type);
    return it == by_type.end() ? none : it->second;
  }
};

Converted convert(std::string raw, std::string_view zone = "Z", bool uuid = false,
                  const mapping::CodeMaps* maps = &code_maps()) {
  Converted c;
  c.raw = std::move(raw);
  hl7v2::ParseError perr;
  auto msg = hl7v2::Message::parse(c.raw, &perr);
  REQUIRE(msg);
  ConvertOptions opt;
  opt.source_name = "test_source";
  opt.default_zone = zone;
  opt.code_maps = maps;
  opt.uuid_references = uuid;
  c.result = hl7v2::convert_to_fhir(*msg, opt);
  if (c.result.ok) {
    INFO(test::check_result(c.result, uuid));
    CHECK(test::check_result(c.result, uuid).empty());
    for (const auto& r : c.result.resources) {
      rapidjson::Document d;
      d.Parse(r.json.data(), r.json.size());
      c.by_type[r.type].push_back(std::move(d));
    }
  }
  return c;
}

std::string str(const rapidjson::Value& v) { return v.IsString() ? v.GetString() : "<not a string>"; }

const std::string kPid =
    seg("PID", {{1, "1"},
                {3, "123456^^^GOODHEALTH^MR~A7788^^^&2.16.840.1.113883.19.5&ISO^PI"},
                {5, "Doe^Jane^Q^Jr^Dr^^L~Smith^Janie^^^^^M"},
                {7, "19800215123000"},
                {8, "F"},
                {11, "123 Main St^Apt 4^Springfield^IL^62701^USA^H^^Sangamon"},
                {13, "^PRN^PH^^1^217^5551234~^NET^Internet^jane@example.org"},
                {14, "(217)555-9876"},
                {15, "en^English^ISO639"},
                {16, "M^Married^HL70002"},
                {24, "Y"},
                {25, "2"},
                {30, "N"}});

std::string adt(std::string_view trigger, std::string_view control_id, std::string_view msh7,
                std::string pv1) {
  std::string type = "ADT^" + std::string(trigger) + "^ADT_A01";
  return join({seg("MSH", {{3, "EPIC"}, {4, "GOODHEALTH^1.2.840.114350^ISO"}, {5, "PHRGATE"},
                           {7, msh7}, {9, type}, {10, control_id}, {11, "P"}, {12, "2.5.1"}}),
               seg("EVN", {{1, trigger}, {2, msh7}}), kPid, pv1,
               seg("OBX", {{1, "1"}, {2, "NM"}, {3, "8302-2^Body height^LN"}, {5, "165"},
                           {6, "cm^centimeter^UCUM"}, {11, "F"}, {14, "20260315081500+0100"}})});
}

const std::string kPv1Inpatient =
    seg("PV1", {{1, "1"}, {2, "I"}, {3, "4E^401^2^GOODHEALTH"}, {7, "1234^Welby^Marcus^A^^Dr^MD"},
                {10, "MED"}, {17, "5678^Kildare^James"}, {19, "V0001^^^GOODHEALTH^VN"},
                {44, "20260315080000+0100"}});

std::string oru(std::string_view control_id, std::string_view glucose_status = "F") {
  return join({
      seg("MSH", {{3, "LAB"}, {4, "GOODLAB"}, {7, "20260316101500"}, {9, "ORU^R01^ORU_R01"},
                  {10, control_id}, {11, "P"}, {12, "2.5.1"}}),
      seg("PID", {{1, "1"}, {3, "123456^^^GOODHEALTH^MR"}, {5, "Doe^Jane"}, {7, "19800215"}, {8, "F"}}),
      seg("PV1", {{1, "1"}, {2, "O"}, {19, "V0002^^^GOODHEALTH^VN"}}),
      seg("ORC", {{1, "RE"}, {2, "PL1001^EPIC"}, {3, "FL2002^GOODLAB"}}),
      seg("OBR", {{1, "1"}, {2, "PL1001^EPIC"}, {3, "FL2002^GOODLAB"},
                  {4, "24323-8^Comprehensive metabolic panel^LN"}, {7, "20260316090000"},
                  {22, "20260316101000"}, {25, "F"}}),
      seg("NTE", {{1, "1"}, {3, "Order level comment"}}),
      seg("OBX", {{1, "1"}, {2, "NM"}, {3, "2345-7^Glucose^LN"}, {5, "182"}, {6, "mg/dL^^L"},
                  {7, "70-99"}, {8, "H"}, {11, glucose_status}, {14, "20260316093000"}}),
      seg("NTE", {{1, "1"}, {3, "Patient was not fasting."}}),
      seg("NTE", {{1, "2"}, {3, "Repeat advised\\.br\\next week"}}),
      seg("OBX", {{1, "2"}, {2, "NM"}, {3, "2951-2^Sodium^LN"}, {5, "140"}, {6, "mmol/L"},
                  {7, "135 - 145"}, {8, "N"}, {11, "F"}}),
      seg("OBX", {{1, "3"}, {2, "SN"}, {3, "5803-2^pH of Urine^LN"}, {5, "^6.5"}, {7, "<7.5"}, {11, "F"}}),
      seg("OBX", {{1, "4"}, {2, "SN"}, {3, "13945-1^RBC urine^LN"}, {5, "^3^-^5"}, {6, "/[HPF]"}, {11, "F"}}),
      seg("OBX", {{1, "5"}, {2, "SN"}, {3, "5130-0^Titer^LN"}, {5, "^1^:^128"}, {11, "F"}}),
      seg("OBX", {{1, "6"}, {2, "SN"}, {3, "2093-3^Cholesterol^LN"}, {5, ">^200"}, {6, "mg/dL"}, {11, "F"}}),
      seg("OBX", {{1, "7"}, {2, "CWE"}, {3, "5778-6^Color of urine^LN"}, {5, "YEL^Yellow^L"}, {11, "F"}}),
      seg("OBX", {{1, "8"}, {2, "ST"}, {3, "5767-9^Appearance^LN"}, {5, "Clear"}, {11, "C"}}),
      seg("OBX", {{1, "9"}, {2, "TX"}, {3, "8251-1^Comment^LN"}, {5, "Line one~Line two"}, {11, "F"}}),
      seg("OBX", {{1, "10"}, {2, "DT"}, {3, "LMP^Last period^99LAB"}, {5, "20260301"}, {11, "F"}}),
      seg("OBX", {{1, "11"}, {2, "TM"}, {3, "DRAW^Draw time^99LAB"}, {5, "1430"}, {11, "F"}}),
      seg("OBX", {{1, "12"}, {2, "NM"}, {3, "1988-5^CRP^LN"}, {5, "<5"}, {6, "mg/L"}, {11, "F"}}),
      seg("OBX", {{1, "13"}, {2, "NM"}, {3, "2345-7^Glucose^LN"}, {5, "190"}, {6, "mg/dL"}, {11, "F"}}),
      seg("OBX", {{1, "14"}, {2, "ED"}, {3, "PDF^Report^99LAB"}, {5, "^AP^PDF^Base64^JVBERi0="}, {11, "F"}}),
      seg("OBR", {{1, "2"}, {3, "FL2003^GOODLAB"}, {4, "58410-2^CBC panel^LN"}, {7, "20260316090000"},
                  {25, "P"}}),
      seg("OBX", {{1, "1"}, {2, "NM"}, {3, "718-7^Hemoglobin^LN"}, {5, "13.20"}, {6, "g/dL"},
                  {7, "12.0-16.0"}, {8, "N"}, {11, "P"}}),
  });
}

const rapidjson::Value* find_observation(const Converted& c, std::string_view loinc, int nth = 0) {
  for (const auto& o : c.all("Observation"))
    if (str(o["code"]["coding"][0]["code"]) == loinc && nth-- == 0) return &o;
  return nullptr;
}

}  // namespace

TEST_CASE("is_supported accepts the registered message types only") {
  hl7v2::MessageHeader h;
  h.message_code = "ADT";
  for (auto t : {"A01", "A04", "A08"}) {
    h.trigger_event = t;
    CHECK(hl7v2::is_supported(h));
  }
  h.trigger_event = "A09";  // patient departing (tracking): not converted
  CHECK_FALSE(hl7v2::is_supported(h));
  h.message_code = "ORU";
  h.trigger_event = "R01";
  CHECK(hl7v2::is_supported(h));
  h.message_code = "ORM";
  h.trigger_event = "O01";
  CHECK(hl7v2::is_supported(h));
  h.trigger_event = "O02";  // order response: not converted
  CHECK_FALSE(hl7v2::is_supported(h));
  h.message_code = "MDM";
  h.trigger_event = "T02";
  CHECK(hl7v2::is_supported(h));
  h.trigger_event = "T01";  // original document notification without content
  CHECK_FALSE(hl7v2::is_supported(h));
  h.message_code = "ADT";
  for (auto t : {"A02", "A03", "A05", "A06", "A07", "A11", "A12", "A13", "A17", "A28", "A31", "A40", "A60"}) {
    h.trigger_event = t;
    CHECK(hl7v2::is_supported(h));
  }
  CHECK(hl7v2::is_known_message_code("PPR"));
  CHECK_FALSE(hl7v2::is_known_message_code("ZZZ"));
}

TEST_CASE("ADT^A01 with a time zone: Patient, Encounter, Observation, Provenance") {
  auto c = convert(adt("A01", "MSG00001", "20260315083000+0100", kPv1Inpatient), "+01:00");
  REQUIRE(c.result.ok);
  REQUIRE(c.result.resources.size() == 4);
  CHECK(c.result.resources[0].type == "Patient");
  for (const auto& r : c.result.resources) CHECK_FALSE(r.only_if_absent);  // ADT updates demographics
  CHECK(c.result.resources[1].type == "Encounter");
  CHECK(c.result.resources[2].type == "Observation");
  CHECK(c.result.resources[3].type == "Provenance");
  CHECK(c.result.mapping_version == code_maps().version());

  const std::string patient_id =
      derive_resource_id("Patient", {"urn:phrgate:assigner:GOODHEALTH", "123456"});
  CHECK(c.result.person_id == patient_id);
  CHECK(c.result.resources[0].id == patient_id);
  const auto& idx = c.result.resources[0].identifiers;
  REQUIRE(idx.size() == 2);
  CHECK(idx[0] == std::make_pair(std::string("urn:phrgate:assigner:GOODHEALTH"), std::string("123456")));
  CHECK(idx[1] == std::make_pair(std::string("urn:oid:2.16.840.1.113883.19.5"), std::string("A7788")));

  const auto& p = c.one("Patient");
  CHECK(str(p["identifier"][0]["type"]["coding"][0]["code"]) == "MR");
  CHECK(str(p["identifier"][0]["type"]["coding"][0]["system"]) ==
        "http://terminology.hl7.org/CodeSystem/v2-0203");
  CHECK(str(p["identifier"][1]["system"]) == "urn:oid:2.16.840.1.113883.19.5");
  CHECK(str(p["identifier"][1]["type"]["coding"][0]["code"]) == "PI");
  CHECK(str(p["name"][0]["use"]) == "official");
  CHECK(str(p["name"][0]["family"]) == "Doe");
  CHECK(str(p["name"][0]["given"][0]) == "Jane");
  CHECK(str(p["name"][0]["given"][1]) == "Q");
  CHECK(str(p["name"][0]["prefix"][0]) == "Dr");
  CHECK(str(p["name"][0]["suffix"][0]) == "Jr");
  CHECK(str(p["name"][1]["use"]) == "maiden");
  CHECK(str(p["gender"]) == "female");
  CHECK(str(p["birthDate"]) == "1980-02-15");
  CHECK(str(p["_birthDate"]["extension"][0]["url"]) ==
        "http://hl7.org/fhir/StructureDefinition/patient-birthTime");
  CHECK(str(p["_birthDate"]["extension"][0]["valueDateTime"]) == "1980-02-15T12:30:00+01:00");
  CHECK(str(p["address"][0]["line"][0]) == "123 Main St");
  CHECK(str(p["address"][0]["line"][1]) == "Apt 4");
  CHECK(str(p["address"][0]["city"]) == "Springfield");
  CHECK(str(p["address"][0]["postalCode"]) == "62701");
  CHECK(str(p["address"][0]["district"]) == "Sangamon");
  CHECK(str(p["address"][0]["use"]) == "home");
  REQUIRE(p["telecom"].Size() == 3);
  CHECK(str(p["telecom"][0]["system"]) == "phone");
  CHECK(str(p["telecom"][0]["value"]) == "+1 217 5551234");
  CHECK(str(p["telecom"][0]["use"]) == "home");
  CHECK(str(p["telecom"][1]["system"]) == "email");
  CHECK(str(p["telecom"][1]["value"]) == "jane@example.org");
  CHECK(str(p["telecom"][2]["system"]) == "phone");  // v2.3 style: number in XTN-1
  CHECK(str(p["telecom"][2]["value"]) == "(217)555-9876");
  CHECK(str(p["telecom"][2]["use"]) == "work");
  CHECK(str(p["maritalStatus"]["coding"][0]["system"]) ==
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus");
  CHECK(str(p["maritalStatus"]["coding"][0]["code"]) == "M");
  CHECK(str(p["maritalStatus"]["coding"][1]["system"]) == "http://terminology.hl7.org/CodeSystem/v2-0002");
  CHECK(str(p["communication"][0]["language"]["coding"][0]["system"]) == "urn:ietf:bcp:47");
  CHECK(str(p["communication"][0]["language"]["coding"][0]["code"]) == "en");
  CHECK(p["multipleBirthInteger"].GetInt() == 2);
  CHECK(p["deceasedBoolean"].GetBool() == false);

  const auto& e = c.one("Encounter");
  const std::string encounter_id =
      derive_resource_id("Encounter", {"urn:phrgate:assigner:GOODHEALTH", "V0001"});
  CHECK(str(e["id"]) == encounter_id);
  CHECK(str(e["status"]) == "in-progress");
  CHECK(str(e["class"]["system"]) == "http://terminology.hl7.org/CodeSystem/v3-ActCode");
  CHECK(str(e["class"]["code"]) == "IMP");
  CHECK(str(e["identifier"][0]["value"]) == "V0001");
  CHECK(str(e["identifier"][0]["type"]["coding"][0]["code"]) == "VN");
  CHECK(str(e["subject"]["reference"]) == "Patient/" + patient_id);
  CHECK(str(e["period"]["start"]) == "2026-03-15T08:00:00+01:00");
  CHECK_FALSE(e["period"].HasMember("end"));
  CHECK(str(e["participant"][0]["type"][0]["coding"][0]["code"]) == "ATND");
  CHECK(str(e["participant"][0]["individual"]["display"]) == "Dr Marcus A Welby MD");
  CHECK(str(e["participant"][1]["type"][0]["coding"][0]["code"]) == "ADM");
  CHECK(str(e["location"][0]["location"]["display"]) == "4E 401 2");
  CHECK(str(e["location"][0]["status"]) == "active");

  const auto& o = c.one("Observation");
  CHECK(str(o["status"]) == "final");
  CHECK(str(o["code"]["coding"][0]["system"]) == "http://loinc.org");
  CHECK(o["valueQuantity"]["value"].GetDouble() == 165.0);
  CHECK(str(o["valueQuantity"]["unit"]) == "centimeter");
  CHECK(str(o["valueQuantity"]["system"]) == "http://unitsofmeasure.org");
  CHECK(str(o["valueQuantity"]["code"]) == "cm");
  CHECK(str(o["effectiveDateTime"]) == "2026-03-15T08:15:00+01:00");
  CHECK(str(o["encounter"]["reference"]) == "Encounter/" + encounter_id);
  CHECK_FALSE(o.HasMember("category"));  // no OBR: not known to be a lab result

  const auto& prov = c.one("Provenance");
  CHECK(str(prov["id"]) == derive_resource_id("Provenance", {"GOODHEALTH", "MSG00001"}));
  REQUIRE(prov["target"].Size() == 3);
  CHECK(str(prov["target"][0]["reference"]) == "Patient/" + patient_id);
  CHECK(str(prov["recorded"]) == "2026-03-15T08:30:00+01:00");
  CHECK(str(prov["activity"]["coding"][0]["code"]) == "CREATE");
  CHECK(str(prov["agent"][0]["type"]["coding"][0]["code"]) == "author");
  CHECK(str(prov["agent"][0]["who"]["display"]) == "GOODHEALTH (1.2.840.114350)");
  CHECK(str(prov["entity"][0]["role"]) == "source");
  CHECK(str(prov["entity"][0]["what"]["identifier"]["system"]) == "urn:phrgate:msh-10:GOODHEALTH");
  CHECK(str(prov["entity"][0]["what"]["identifier"]["value"]) == "MSG00001");
}

TEST_CASE("Conversion is deterministic and re-sent messages hit the same ids") {
  const std::string msg = adt("A01", "MSG00001", "20260315083000+0100", kPv1Inpatient);
  auto a = convert(msg);
  auto b = convert(msg);
  REQUIRE((a.result.ok && b.result.ok));
  REQUIRE(a.result.resources.size() == b.result.resources.size());
  for (std::size_t i = 0; i < a.result.resources.size(); ++i) {
    CHECK(a.result.resources[i].id == b.result.resources[i].id);
    CHECK(a.result.resources[i].json == b.result.resources[i].json);
  }
  // Re-sent with a new control id and time: same Patient and Encounter, new Provenance.
  auto again = convert(adt("A01", "MSG00077", "20260315090000+0100", kPv1Inpatient));
  REQUIRE(again.result.ok);
  CHECK(again.result.resources[0].id == a.result.resources[0].id);
  CHECK(again.result.resources[1].id == a.result.resources[1].id);
  CHECK(again.result.resources.back().id != a.result.resources.back().id);
}

TEST_CASE("A coded value missing from the HL7 table it claims is labelled as the sender's own code") {
  // "MARRIED" and "2" are not codes of HL7 table 0002: labelling them with the v2-0002 code
  // system would be invalid FHIR, so they keep the sender's local system; "M" is in the table.
  for (const char* value : {"MARRIED", "2^Married^HL70002"}) {
    std::string msg = join({seg("MSH", {{3, "EPIC"}, {4, "GOODHEALTH"}, {7, "20260315083000"},
                                        {9, "ADT^A01^ADT_A01"}, {10, "MS-1"}, {11, "P"}, {12, "2.5.1"}}),
                            seg("PID", {{1, "1"}, {3, "77^^^GOODHEALTH^MR"}, {5, "Doe^Jane"}, {16, value}})});
    auto c = convert(msg);
    REQUIRE(c.result.ok);
    const auto& coding = c.one("Patient")["maritalStatus"]["coding"];
    for (const auto& cd : coding.GetArray())
      CHECK(str(cd["system"]) != "http://terminology.hl7.org/CodeSystem/v2-0002");
    CHECK(str(coding[coding.Size() - 1]["system"]).rfind("urn:phrgate:codesystem:", 0) == 0);
  }
  std::string ok = join({seg("MSH", {{3, "EPIC"}, {4, "GOODHEALTH"}, {7, "20260315083000"},
                                     {9, "ADT^A01^ADT_A01"}, {10, "MS-2"}, {11, "P"}, {12, "2.5.1"}}),
                         seg("PID", {{1, "1"}, {3, "77^^^GOODHEALTH^MR"}, {5, "Doe^Jane"}, {16, "M"}})});
  auto c = convert(ok);
  REQUIRE(c.result.ok);
  CHECK(str(c.one("Patient")["maritalStatus"]["coding"][0]["system"]) ==
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus");
}

TEST_CASE("OIDs become FHIR URIs through mappings/oids, unknown ones stay urn:oid") {
  std::string msg = join({seg("MSH", {{3, "EPIC"}, {4, "GOODHEALTH"}, {7, "20260315083000"},
                                      {9, "ORU^R01^ORU_R01"}, {10, "OID-1"}, {11, "P"}, {12, "2.5.1"}}),
                          seg("PID", {{1, "1"},
                                      {3, "77^^^GOODHEALTH&1.2.3.4.5&ISO^MR~123-45-6789^^^SSA&2.16.840.1.113883.4.1&ISO^SS"},
                                      {5, "Doe^Jane"}}),
                          seg("OBR", {{1, "1"}, {3, "F-OID"}, {4, "24323-8^Metabolic panel^2.16.840.1.113883.6.1"}}),
                          seg("OBX", {{1, "1"}, {2, "NM"}, {3, "2345-7^Glucose^2.16.840.1.113883.6.1"}, {5, "95"},
                                      {11, "F"}})});
  auto c = convert(msg);
  REQUIRE(c.result.ok);
  const auto& ids = c.one("Patient")["identifier"];
  CHECK(str(ids[0]["system"]) == "urn:oid:1.2.3.4.5");
  CHECK(str(ids[1]["system"]) == "http://hl7.org/fhir/sid/us-ssn");
  CHECK(str(c.all("Observation")[0]["code"]["coding"][0]["system"]) == "http://loinc.org");
}

TEST_CASE("NM values with a comparator become a Quantity with comparator and unit") {
  auto obx = [](std::string_view value) {
    return join({seg("MSH", {{3, "LAB"}, {4, "GOODLAB"}, {7, "20260316101500"}, {9, "ORU^R01^ORU_R01"},
                             {10, "CMP-1"}, {11, "P"}, {12, "2.5.1"}}),
                 seg("PID", {{1, "1"}, {3, "123456^^^GOODHEALTH^MR"}}),
                 seg("OBR", {{1, "1"}, {3, "F-CMP"}, {4, "24323-8^Metabolic panel^LN"}}),
                 seg("OBX", {{1, "1"}, {2, "NM"}, {3, "33914-3^eGFR^LN"}, {5, value},
                             {6, "mL/min/{1.73_m2}^^UCUM"}, {11, "F"}})});
  };
  for (auto [value, op, number] : {std::tuple{"<15", "<", 15.0}, std::tuple{">= 60", ">=", 60.0},
                                   std::tuple{"<=0.5", "<=", 0.5}}) {
    auto c = convert(obx(value));
    REQUIRE(c.result.ok);
    const auto& q = c.all("Observation")[0]["valueQuantity"];
    CHECK(str(q["comparator"]) == op);
    CHECK(q["value"].GetDouble() == Approx(number));
    CHECK(str(q["system"]) == "http://unitsofmeasure.org");
  }
  auto text = convert(obx("<<15"));
  REQUIRE(text.result.ok);
  CHECK(str(text.all("Observation")[0]["valueString"]) == "<<15");
}

TEST_CASE("ADT^A04 and A08: encounter status and class, Provenance activity, no zone") {
  SECTION("A04 outpatient") {
    auto c = convert(adt("A04", "MSG2", "20260315083000",
                         seg("PV1", {{1, "1"}, {2, "O"}, {19, "V0009^^^GOODHEALTH^VN"}})));
    REQUIRE(c.result.ok);
    const auto& e = c.one("Encounter");
    CHECK(str(e["class"]["code"]) == "AMB");
    CHECK(str(e["status"]) == "in-progress");  // PV1-2 O via PatientClass[EncounterStatus]
    CHECK(str(c.one("Provenance")["recorded"]) == "2026-03-15T08:30:00Z");  // default zone
  }
  SECTION("A04 without a patient class: class U (v2-0004), status from the event (planned)") {
    auto c = convert(adt("A04", "MSG3", "20260315083000", seg("PV1", {{1, "1"}, {19, "V0010"}})));
    REQUIRE(c.result.ok);
    const auto& e = c.one("Encounter");
    CHECK(str(e["class"]["system"]) == "http://terminology.hl7.org/CodeSystem/v2-0004");
    CHECK(str(e["class"]["code"]) == "U");
    CHECK(str(e["status"]) == "planned");
    // A visit number without an assigning authority is scoped by the sender.
    CHECK(str(e["identifier"][0]["system"]) == "urn:phrgate:assigner:GOODHEALTH");
  }
  SECTION("A08 with a discharge time: finished, UPDATE, same patient as the A01") {
    auto a01 = convert(adt("A01", "MSG1", "20260315083000+0100", kPv1Inpatient));
    auto c = convert(adt("A08", "MSG4", "20260320120000",
                         seg("PV1", {{1, "1"}, {2, "I"}, {19, "V0001^^^GOODHEALTH^VN"},
                                     {44, "20260315080000"}, {45, "202603201130"}})),
                     "-05:00");
    REQUIRE(c.result.ok);
    CHECK(c.result.person_id == a01.result.person_id);
    CHECK(c.result.resources[1].id == a01.result.resources[1].id);  // same visit number
    const auto& e = c.one("Encounter");
    CHECK(str(e["status"]) == "finished");
    CHECK(str(e["period"]["start"]) == "2026-03-15T08:00:00-05:00");
    CHECK(str(e["period"]["end"]) == "2026-03-20T11:30:00-05:00");
    CHECK(str(c.one("Provenance")["activity"]["coding"][0]["code"]) == "UPDATE");
    CHECK(str(c.one("Provenance")["recorded"]) == "2026-03-20T12:00:00-05:00");
  }
}

TEST_CASE("ORU^R01: Observations by value type, DiagnosticReports, Provenance") {
  auto c = convert(oru("LAB0001"));
  REQUIRE(c.result.ok);
  const auto& reports = c.all("DiagnosticReport");
  REQUIRE(reports.size() == 2);
  REQUIRE(c.all("Observation").size() == 15);
  CHECK(c.result.resources.back().type == "Provenance");
  CHECK(c.one("Provenance")["target"].Size() == c.result.resources.size() - 1);
  // A result message's PID/PV1 never overwrite ADT demographics: conditional create only.
  for (const auto& r : c.result.resources)
    CHECK(r.only_if_absent == (r.type == "Patient" || r.type == "Encounter"));

  const auto& dr = reports[0];
  CHECK(str(dr["status"]) == "final");
  CHECK(str(dr["code"]["coding"][0]["code"]) == "24323-8");
  CHECK(str(dr["category"][0]["coding"][0]["code"]) == "LAB");
  CHECK(str(dr["identifier"][0]["type"]["coding"][0]["code"]) == "PLAC");
  CHECK(str(dr["identifier"][0]["value"]) == "PL1001");
  CHECK(str(dr["identifier"][0]["system"]) == "urn:phrgate:assigner:EPIC");
  CHECK(str(dr["identifier"][1]["type"]["coding"][0]["code"]) == "FILL");
  CHECK(str(dr["identifier"][1]["value"]) == "FL2002");
  CHECK(str(dr["effectiveDateTime"]) == "2026-03-16T09:00:00Z");
  CHECK(str(dr["issued"]) == "2026-03-16T10:10:00Z");
  CHECK(str(dr["id"]) == derive_resource_id("DiagnosticReport",
                                            {"GOODLAB", "filler", "urn:phrgate:assigner:GOODLAB", "FL2002"}));
  REQUIRE(dr["result"].Size() == 14);
  // result references are the group's Observations, in order.
  std::size_t k = 0;
  for (const auto& r : c.result.resources) {
    if (r.type != "Observation" || k >= 14) continue;
    CHECK(str(dr["result"][static_cast<rapidjson::SizeType>(k)]["reference"]) == "Observation/" + r.id);
    ++k;
  }
  CHECK(str(reports[1]["status"]) == "preliminary");
  REQUIRE(reports[1]["result"].Size() == 1);
  CHECK_FALSE(reports[1].HasMember("issued"));

  const auto* glucose = find_observation(c, "2345-7");
  REQUIRE(glucose);
  const auto& g = *glucose;
  CHECK(str(g["status"]) == "final");
  CHECK(str(g["category"][0]["coding"][0]["code"]) == "laboratory");
  CHECK(g["valueQuantity"]["value"].GetInt() == 182);
  CHECK(str(g["valueQuantity"]["unit"]) == "mg/dL");
  CHECK(str(g["valueQuantity"]["system"]) == "http://unitsofmeasure.org");  // via units table
  CHECK(str(g["valueQuantity"]["code"]) == "mg/dL");
  CHECK(g["referenceRange"][0]["low"]["value"].GetInt() == 70);
  CHECK(g["referenceRange"][0]["high"]["value"].GetInt() == 99);
  CHECK(str(g["referenceRange"][0]["high"]["unit"]) == "mg/dL");
  CHECK(str(g["referenceRange"][0]["text"]) == "70-99");
  CHECK(str(g["interpretation"][0]["coding"][0]["system"]) ==
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation");
  CHECK(str(g["interpretation"][0]["coding"][0]["code"]) == "H");
  CHECK(str(g["interpretation"][0]["coding"][1]["system"]) ==
        "http://terminology.hl7.org/CodeSystem/v2-0078");
  REQUIRE(g["note"].Size() == 2);
  CHECK(str(g["note"][0]["text"]) == "Patient was not fasting.");
  CHECK(str(g["note"][1]["text"]) == "Repeat advised\nnext week");
  CHECK(str(g["effectiveDateTime"]) == "2026-03-16T09:30:00Z");
  CHECK(str(g["issued"]) == "2026-03-16T10:10:00Z");
  CHECK(str(g["encounter"]["reference"]) ==
        "Encounter/" + derive_resource_id("Encounter", {"urn:phrgate:assigner:GOODHEALTH", "V0002"}));

  const auto& sodium = *find_observation(c, "2951-2");
  CHECK(str(sodium["effectiveDateTime"]) == "2026-03-16T09:00:00Z");  // from OBR-7
  CHECK(str(sodium["valueQuantity"]["unit"]) == "mmol/L");
  CHECK(sodium["referenceRange"][0]["low"]["value"].GetInt() == 135);
  CHECK(str(sodium["interpretation"][0]["coding"][0]["code"]) == "N");

  const auto& ph = *find_observation(c, "5803-2");
  CHECK(ph["valueQuantity"]["value"].GetDouble() == 6.5);
  CHECK_FALSE(ph["valueQuantity"].HasMember("comparator"));
  CHECK_FALSE(ph["referenceRange"][0].HasMember("low"));
  CHECK(ph["referenceRange"][0]["high"]["value"].GetDouble() == 7.5);
  CHECK(str(ph["referenceRange"][0]["text"]) == "<7.5");

  const auto& rbc = *find_observation(c, "13945-1");
  CHECK(rbc["valueRange"]["low"]["value"].GetInt() == 3);
  CHECK(rbc["valueRange"]["high"]["value"].GetInt() == 5);
  CHECK(str(rbc["valueRange"]["high"]["unit"]) == "/[HPF]");
  CHECK_FALSE(rbc["valueRange"]["high"].HasMember("system"));  // not a listed unit: text only

  const auto& titer = *find_observation(c, "5130-0");
  CHECK(titer["valueRatio"]["numerator"]["value"].GetInt() == 1);
  CHECK(titer["valueRatio"]["denominator"]["value"].GetInt() == 128);

  const auto& chol = *find_observation(c, "2093-3");
  CHECK(str(chol["valueQuantity"]["comparator"]) == ">");
  CHECK(chol["valueQuantity"]["value"].GetInt() == 200);

  const auto& color = *find_observation(c, "5778-6");
  CHECK(str(color["valueCodeableConcept"]["coding"][0]["system"]) == "urn:phrgate:codesystem:GOODLAB:L");
  CHECK(str(color["valueCodeableConcept"]["coding"][0]["code"]) == "YEL");
  CHECK(str(color["valueCodeableConcept"]["coding"][0]["display"]) == "Yellow");

  const auto& appearance = *find_observation(c, "5767-9");
  CHECK(str(appearance["valueString"]) == "Clear");
  CHECK(str(appearance["status"]) == "corrected");

  CHECK(str((*find_observation(c, "8251-1"))["valueString"]) == "Line one\nLine two");
  const auto& lmp = *find_observation(c, "LMP");
  CHECK(str(lmp["valueDateTime"]) == "2026-03-01");
  CHECK(str(lmp["code"]["coding"][0]["system"]) == "urn:phrgate:codesystem:GOODLAB:99LAB");
  CHECK(str((*find_observation(c, "DRAW"))["valueTime"]) == "14:30:00");
  // NM "<5": a Quantity with its comparator, keeping the unit.
  const auto& crp = (*find_observation(c, "1988-5"))["valueQuantity"];
  CHECK(str(crp["comparator"]) == "<");
  CHECK(crp["value"].GetDouble() == Approx(5));
  CHECK(str(crp["unit"]) == "mg/L");
  // ED Base64 PDF: a DocumentReference with the data inline, related to the report.
  const auto& pdf = c.one("DocumentReference");
  CHECK(str(pdf["status"]) == "current");
  CHECK(str(pdf["content"][0]["attachment"]["contentType"]) == "application/pdf");
  CHECK(str(pdf["content"][0]["attachment"]["data"]) == "JVBERi0=");
  CHECK(str(pdf["type"]["coding"][0]["code"]) == "PDF");
  CHECK(str(pdf["context"]["related"][0]["reference"]) == "DiagnosticReport/" + str(dr["id"]));
  // The Observation stays (code, status, time), derived from the document.
  CHECK(str((*find_observation(c, "PDF"))["derivedFrom"][0]["reference"]) == "DocumentReference/" + str(pdf["id"]));

  const auto* glucose2 = find_observation(c, "2345-7", 1);
  REQUIRE(glucose2);
  CHECK(str((*glucose2)["id"]) != str(g["id"]));  // same code twice in one order: distinct ids

  const auto& hb = *find_observation(c, "718-7");
  CHECK(str(hb["status"]) == "preliminary");
  CHECK(hb["valueQuantity"]["value"].GetDouble() == 13.2);
  // Decimal precision is kept as sent (significant trailing zeros).
  const std::string& hb_json = c.result.resources[c.result.resources.size() - 3].json;
  CHECK(hb_json.find("\"value\":13.20") != std::string::npos);
  CHECK(hb_json.find("\"low\":{\"value\":12.0") != std::string::npos);
}

TEST_CASE("ORU correction with a new control id updates the same Observations and report") {
  auto first = convert(oru("LAB0001", "P"));
  auto corrected = convert(oru("LAB0002", "C"));
  REQUIRE((first.result.ok && corrected.result.ok));
  REQUIRE(first.result.resources.size() == corrected.result.resources.size());
  for (std::size_t i = 0; i + 1 < first.result.resources.size(); ++i)
    CHECK(first.result.resources[i].id == corrected.result.resources[i].id);
  CHECK(first.result.resources.back().id != corrected.result.resources.back().id);  // Provenance
  CHECK(str((*find_observation(corrected, "2345-7"))["status"]) == "corrected");
  CHECK(str((*find_observation(first, "2345-7"))["status"]) == "preliminary");
}

TEST_CASE("urn:uuid references when asked") {
  auto c = convert(oru("LAB0001"), "Z", true);
  REQUIRE(c.result.ok);
  const auto& g = *find_observation(c, "2345-7");
  CHECK(str(g["subject"]["reference"]) == "urn:uuid:" + c.result.person_id);
  CHECK(str(c.all("DiagnosticReport")[0]["result"][0]["reference"]).rfind("urn:uuid:", 0) == 0);
}

TEST_CASE("The Patient key is the first MR identifier; escapes and non-UTF-8 bytes are handled") {
  const std::string msg =
      join({seg("MSH", {{3, "EPIC"}, {4, "GOODHEALTH"}, {7, "20260315083000"}, {9, "ADT^A01"},
                        {10, "X1"}, {11, "P"}, {12, "2.3"}}),
            seg("PID", {{3, "PI-1^^^OTHER^PI~777^^^GOODHEALTH^MR"}, {5, "O\\T\\Brien^M\xFCller"}, {8, "U"}})});
  auto c = convert(msg);
  REQUIRE(c.result.ok);
  CHECK(c.result.person_id == derive_resource_id("Patient", {"urn:phrgate:assigner:GOODHEALTH", "777"}));
  const auto& p = c.one("Patient");
  CHECK(str(p["name"][0]["family"]) == "O&Brien");
  CHECK(str(p["name"][0]["given"][0]) == "M\xC3\xBCller");  // ISO-8859-1 byte repaired to UTF-8
  CHECK(str(p["gender"]) == "unknown");
  CHECK(c.result.resources.size() == 2);  // no PV1, no OBX: Patient + Provenance
}

TEST_CASE("Report text lines without OBX-3 take OBR-4; an OBR without OBR-4 has no report") {
  const std::string msh = seg("MSH", {{3, "RIS"}, {4, "XRAY"}, {7, "20260101"}, {9, "ORU^R01"},
                                      {10, "R1"}, {11, "P"}, {12, "2.3"}});
  const std::string pid = seg("PID", {{3, "55^^^H^MR"}});
  auto c = convert(join({msh, pid,
                         seg("OBR", {{1, "1"}, {3, "ACC1"}, {4, "71020^Chest X-ray^C4"},
                                     {7, "202601010930-0500"}, {22, "202601011010"}}),
                         seg("OBX", {{1, "1"}, {2, "TX"}, {5, "No acute disease."}, {11, "F"}}),
                         seg("OBX", {{1, "2"}, {2, "TX"}, {5, "Heart size normal."}, {11, "F"}})}));
  REQUIRE(c.result.ok);
  REQUIRE(c.all("Observation").size() == 2);
  CHECK(str(c.all("Observation")[0]["code"]["coding"][0]["code"]) == "71020");
  CHECK(str(c.all("Observation")[0]["code"]["coding"][0]["system"]) == "http://www.ama-assn.org/go/cpt");
  CHECK(c.all("Observation")[0]["id"] != c.all("Observation")[1]["id"]);
  CHECK(c.one("DiagnosticReport")["result"].Size() == 2);
  CHECK(str(c.one("DiagnosticReport")["effectiveDateTime"]) == "2026-01-01T09:30:00-05:00");
  CHECK_FALSE(c.one("DiagnosticReport").HasMember("issued"));  // OBR-22 without seconds

  // The same order number twice: two reports, no id collision (check_result verifies).
  auto twice = convert(join({msh, pid, seg("OBR", {{1, "1"}, {3, "ACC1"}, {4, "71020^Chest X-ray^C4"}}),
                             seg("OBX", {{1, "1"}, {2, "TX"}, {5, "First."}}),
                             seg("OBR", {{1, "2"}, {3, "ACC1"}, {4, "71020^Chest X-ray^C4"}}),
                             seg("OBX", {{1, "1"}, {2, "TX"}, {5, "Second."}})}));
  REQUIRE(twice.result.ok);
  CHECK(twice.all("DiagnosticReport").size() == 2);
  CHECK(twice.all("Observation").size() == 2);

  auto no_code = convert(join({msh, pid, seg("OBR", {{1, "1"}}),
                               seg("OBX", {{1, "1"}, {2, "NM"}, {3, "HR"}, {5, "68"}, {6, "/min"}})}));
  REQUIRE(no_code.result.ok);
  CHECK(no_code.all("DiagnosticReport").empty());
  CHECK(str(no_code.one("Observation")["code"]["coding"][0]["system"]) == "urn:phrgate:codesystem:XRAY:L");
  CHECK(str(no_code.one("Observation")["valueQuantity"]["code"]) == "/min");
}

TEST_CASE("Without code maps the output stays valid FHIR") {
  auto c = convert(oru("LAB0001"), "Z", false, nullptr);
  REQUIRE(c.result.ok);
  CHECK(c.result.mapping_version.empty());
  const auto& g = *find_observation(c, "2345-7");
  CHECK(str(g["status"]) == "unknown");
  CHECK(str(c.all("DiagnosticReport")[0]["status"]) == "unknown");
  CHECK_FALSE(c.one("Patient").HasMember("gender"));
  CHECK(str(c.one("Encounter")["class"]["code"]) == "U");
}

TEST_CASE("Errors: unsupported types, missing segments and fields, without PHI in the text") {
  auto error_of = [](const std::string& raw) {
    hl7v2::ParseError perr;
    auto msg = hl7v2::Message::parse(raw, &perr);
    INFO(perr.text);
    REQUIRE(msg);
    ConvertOptions opt;
    opt.code_maps = &code_maps();
    return hl7v2::convert_to_fhir(*msg, opt);
  };
  // (An empty MSH-10 is already rejected by Message::parse.)
  auto msh = [](std::string_view type) {
    return seg("MSH", {{3, "A"}, {4, "F"}, {7, "20260101"}, {9, type}, {10, "C1"}, {11, "P"}, {12, "2.5"}});
  };
  const std::string pid = seg("PID", {{3, "123^^^H^MR"}, {5, "Secretname^Jane"}});

  auto r = error_of(join({msh("ADT^A09"), pid}));
  CHECK_FALSE(r.ok);
  CHECK(r.error_code == ErrorCode::UnsupportedEventCode);
  CHECK(r.error_location == "MSH-9.2");
  r = error_of(join({msh("ZZZ^Z01"), pid}));
  CHECK(r.error_code == ErrorCode::UnsupportedMessageType);
  r = error_of(join({msh("ADT^A01"), seg("PV1", {{2, "I"}})}));
  CHECK(r.error_code == ErrorCode::SegmentSequence);
  CHECK(r.error_location == "PID");
  r = error_of(join({msh("ADT^A01"), seg("PID", {{5, "Secretname^Jane"}})}));
  CHECK(r.error_code == ErrorCode::RequiredFieldMissing);
  CHECK(r.error_location == "PID-3");
  CHECK(r.error.find("Secretname") == std::string::npos);
  CHECK(r.resources.empty());
  r = error_of(join({msh("ORU^R01"), pid, seg("OBX", {{2, "ST"}, {3, "X^Y^L"}, {5, "v"}})}));
  CHECK(r.error_location == "OBR");
  r = error_of(join({msh("ORU^R01"), pid, seg("OBR", {{4, "X^Y^L"}})}));
  CHECK(r.error_location == "OBX");
  // OBX-3 empty and nothing to fall back on (no OBR-4): rejected.
  r = error_of(join({msh("ORU^R01"), pid, seg("OBR", {{1, "1"}}), seg("OBX", {{2, "ST"}, {5, "v"}})}));
  CHECK(r.error_code == ErrorCode::RequiredFieldMissing);
  CHECK(r.error_location == "OBX-3");
  CHECK(r.resources.empty());
  r = error_of(join({msh("ADT^A01"), pid, seg("OBX", {{2, "ST"}, {5, "v"}})}));
  CHECK(r.error_location == "OBX-3");
  r = error_of(join({msh("ORU^R01"), pid, pid, seg("OBR", {{4, "X"}}), seg("OBX", {{3, "X"}, {5, "v"}})}));
  CHECK(r.error_code == ErrorCode::SegmentSequence);
  CHECK(r.error_location == "PID");
}
