// Tests for documents and the result/order details: OBX ED (Base64, Hex, ASCII) and RP ->
// DocumentReference, invalid ED data -> Observation with dataAbsentReason, OBX-11 C/D/W
// keeping the Observation id, NTE after an OBR of an order -> ServiceRequest.note, MDM^T02
// (TXA + OBX -> DocumentReference) and PPR^PC1 (PRB -> problem-list Condition).
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
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
  return seg("MSH", {{3, "LAB"}, {4, "GOODLAB"}, {7, "20260316101000"}, {9, type}, {10, control_id},
                     {11, "P"}, {12, "2.5.1"}});
}

const std::string kPid = seg("PID", {{1, "1"}, {3, "123456^^^GOODHEALTH^MR"}, {5, "Doe^Jane"}});
const std::string kObr = seg("OBR", {{1, "1"}, {2, "PL1"}, {3, "FL1^GOODLAB"}, {4, "11502-2^Lab report^LN"},
                                     {7, "20260316090000"}, {25, "F"}});

std::string oru(std::string_view control_id, std::initializer_list<std::string> obx) {
  std::string m = join({msh("ORU^R01", control_id), kPid, kObr});
  for (const auto& s : obx) m += s + "\r";
  return m;
}

const rapidjson::Value& attachment(const rapidjson::Value& doc) { return doc["content"][0]["attachment"]; }

}  // namespace

TEST_CASE("OBX ED and RP become DocumentReferences with inline data or a url") {
  const Converted c = convert(oru(
      "D1", {seg("OBX", {{1, "1"}, {2, "ED"}, {3, "PDF^Report^L"}, {5, "LAB^AP^PDF^Base64^JVBE\\X0D\\\\X0A\\Ri0="},
                         {11, "F"}, {14, "20260316100000"}}),
             seg("OBX", {{1, "2"}, {2, "ED"}, {3, "IMG^Image^L"}, {5, "^IM^PNG^Hex^89504E47"}, {11, "F"}}),
             seg("OBX", {{1, "3"}, {2, "ED"}, {3, "TXT^Text^L"}, {5, "^TEXT^^A^Hello"}, {11, "F"}}),
             seg("OBX", {{1, "4"}, {2, "RP"}, {3, "SCAN^Scan^L"}, {5, "https://pacs.example/s/1^PACS^IM^JPEG"}}),
             seg("OBX", {{1, "5"}, {2, "ED"}, {3, "BAD^Bad^L"}, {5, "^AP^PDF^Base64^not*base64"}, {11, "F"}})}));
  const auto& docs = c.all("DocumentReference");
  REQUIRE(docs.size() == 4);
  CHECK(str(attachment(docs[0])["contentType"]) == "application/pdf");
  CHECK(str(attachment(docs[0])["data"]) == "JVBERi0=");  // escaped line break removed
  CHECK(str(attachment(docs[0])["creation"]) == "2026-03-16T10:00:00Z");
  CHECK(str(docs[0]["date"]) == "2026-03-16T10:00:00Z");
  CHECK(str(docs[0]["docStatus"]) == "final");
  CHECK(str(attachment(docs[1])["contentType"]) == "image/png");
  CHECK(str(attachment(docs[1])["data"]) == "iVBORw==");  // 89 50 4E 47
  CHECK(str(attachment(docs[2])["contentType"]) == "text/plain");
  CHECK(str(attachment(docs[2])["data"]) == "SGVsbG8=");
  CHECK(str(attachment(docs[3])["url"]) == "https://pacs.example/s/1");
  CHECK(str(attachment(docs[3])["contentType"]) == "image/jpeg");
  CHECK_FALSE(attachment(docs[3]).HasMember("data"));
  // Invalid base64 is never written: an Observation says the value is unsupported.
  // Each OBX keeps its Observation (derivedFrom its document); the bad one has none.
  const auto& obs = c.all("Observation");
  REQUIRE(obs.size() == 5);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(str(obs[i]["derivedFrom"][0]["reference"]) == "DocumentReference/" + str(docs[i]["id"]));
  const auto& bad = obs[4];
  CHECK(str(bad["code"]["coding"][0]["code"]) == "BAD");
  CHECK_FALSE(bad.HasMember("derivedFrom"));
  CHECK(str(bad["dataAbsentReason"]["coding"][0]["code"]) == "unsupported");
  for (const auto& d : docs)
    CHECK(str(d["context"]["related"][0]["reference"]) == "DiagnosticReport/" + str(c.one("DiagnosticReport")["id"]));
}

TEST_CASE("OBX-11 C corrects and D/W withdraw the same Observation; FT and CX values") {
  auto one = [](std::string_view control_id, std::string_view status) {
    return oru(control_id, {seg("OBX", {{1, "1"}, {2, "NM"}, {3, "2345-7^Glucose^LN"}, {5, "95"}, {6, "mg/dL"},
                                        {11, status}})});
  };
  const Converted final_result = convert(one("S1", "F"));
  const Converted corrected = convert(one("S2", "C"));
  const Converted deleted = convert(one("S3", "D"));
  const Converted wrong = convert(one("S4", "W"));
  const std::string id = str(final_result.one("Observation")["id"]);
  CHECK(str(corrected.one("Observation")["id"]) == id);
  CHECK(str(corrected.one("Observation")["status"]) == "corrected");
  CHECK(str(deleted.one("Observation")["id"]) == id);
  CHECK(str(deleted.one("Observation")["status"]) == "entered-in-error");
  CHECK(str(wrong.one("Observation")["status"]) == "entered-in-error");

  const Converted text = convert(oru(
      "S5", {seg("OBX", {{1, "1"}, {2, "FT"}, {3, "NOTE^Note^L"}, {5, "Line one\\.br\\Line \\T\\ two"}}),
             seg("OBX", {{1, "2"}, {2, "CX"}, {3, "ID^Donor id^L"}, {5, "D-77^^^BLOODBANK"}})}));
  CHECK(str(text.all("Observation")[0]["valueString"]) == "Line one\nLine & two");
  CHECK(str(text.all("Observation")[1]["valueString"]) == "D-77");
}

TEST_CASE("NTE after an order's OBR becomes ServiceRequest.note") {
  const std::string raw =
      join({msh("ORM^O01", "O1"), kPid, seg("ORC", {{1, "NW"}, {2, "PL1"}}), kObr,
            seg("NTE", {{1, "1"}, {3, "Patient fasting"}}), seg("NTE", {{1, "2"}, {3, "Call on result"}})});
  const Converted c = convert(raw);
  const auto& sr = c.one("ServiceRequest");
  REQUIRE(sr["note"].Size() == 2);
  CHECK(str(sr["note"][0]["text"]) == "Patient fasting");
  CHECK(str(sr["note"][1]["text"]) == "Call on result");
}

TEST_CASE("MDM^T02: TXA and its text OBX become a DocumentReference (text/plain, base64)") {
  const std::string raw = join(
      {msh("MDM^T02^MDM_T02", "DOC1"), seg("EVN", {{1, "T02"}, {2, "20260316101000"}}), kPid,
       seg("PV1", {{1, "1"}, {2, "O"}, {19, "V0009^^^GOODHEALTH^VN"}}),
       seg("TXA", {{1, "1"}, {2, "DS^Discharge summary^HL70270"}, {3, "TX"}, {5, "1234^Welby^Marcus^^^Dr"},
                   {6, "20260316093000"}, {12, "DOC-55^GOODHEALTH"}, {17, "AU"}, {19, "AV"}}),
       seg("OBX", {{1, "1"}, {2, "TX"}, {3, "DS^Summary^L"}, {5, "Admitted for chest pain."}}),
       seg("OBX", {{1, "2"}, {2, "TX"}, {3, "DS^Summary^L"}, {5, "Discharged home."}})});
  const Converted c = convert(raw);
  CHECK(c.all("Observation").empty());
  const auto& doc = c.one("DocumentReference");
  CHECK(str(doc["status"]) == "current");
  CHECK(str(doc["docStatus"]) == "final");
  CHECK(str(doc["masterIdentifier"]["value"]) == "DOC-55");
  CHECK(str(doc["type"]["coding"][0]["code"]) == "DS");
  CHECK(str(doc["date"]) == "2026-03-16T09:30:00Z");
  CHECK(str(doc["author"][0]["display"]) == "Dr Marcus Welby");
  CHECK(str(attachment(doc)["contentType"]) == "text/plain");
  // base64("Admitted for chest pain.\nDischarged home.")
  CHECK(str(attachment(doc)["data"]) == "QWRtaXR0ZWQgZm9yIGNoZXN0IHBhaW4uCkRpc2NoYXJnZWQgaG9tZS4=");
  CHECK(str(doc["context"]["encounter"][0]["reference"]) == "Encounter/" + str(c.one("Encounter")["id"]));
  for (const auto& r : c.result.resources)
    CHECK(r.only_if_absent == (r.type == "Patient" || r.type == "Encounter"));

  // TXA-19 OB (obsolete) -> superseded; same document number, same id.
  std::string obsolete = raw;
  obsolete.replace(obsolete.find("|AU||AV"), 7, "|AU||OB");
  const Converted old = convert(obsolete);
  CHECK(str(old.one("DocumentReference")["status"]) == "superseded");
  CHECK(str(old.one("DocumentReference")["id"]) == str(doc["id"]));
}

TEST_CASE("PPR^PC1: PRB becomes a problem-list Condition with its clinical status") {
  auto ppr = [](std::string_view action, std::string_view status, std::string_view resolved) {
    return join({msh("PPR^PC1^PPR_PC1", "PR-" + std::string(action)), kPid,
                 seg("PRB", {{1, action}, {2, "20260316"}, {3, "38341003^Hypertension^SCT"}, {4, "PRB-1^EPIC"},
                             {7, "20250101"}, {9, resolved}, {13, "C"}, {14, status}, {16, "20240601"}}),
                 seg("NTE", {{1, "1"}, {3, "Home BP log"}})});
  };
  const Converted add = convert(ppr("AD", "active", {}));
  const auto& cond = add.one("Condition");
  CHECK(str(cond["clinicalStatus"]["coding"][0]["code"]) == "active");
  CHECK(str(cond["verificationStatus"]["coding"][0]["code"]) == "confirmed");
  CHECK(str(cond["category"][0]["coding"][0]["code"]) == "problem-list-item");
  CHECK(str(cond["code"]["coding"][0]["system"]) == "http://snomed.info/sct");
  CHECK(str(cond["onsetDateTime"]) == "2024-06-01");
  CHECK(str(cond["recordedDate"]) == "2025-01-01");
  CHECK(str(cond["note"][0]["text"]) == "Home BP log");
  CHECK_FALSE(cond.HasMember("abatementDateTime"));

  const Converted resolved = convert(ppr("UP", {}, "20260301"));
  CHECK(str(resolved.one("Condition")["id"]) == str(cond["id"]));
  CHECK(str(resolved.one("Condition")["clinicalStatus"]["coding"][0]["code"]) == "resolved");
  CHECK(str(resolved.one("Condition")["abatementDateTime"]) == "2026-03-01");

  const Converted deleted = convert(ppr("DE", "active", {}));
  CHECK(str(deleted.one("Condition")["verificationStatus"]["coding"][0]["code"]) == "entered-in-error");
  CHECK_FALSE(deleted.one("Condition").HasMember("clinicalStatus"));
}

TEST_CASE("RDE^O11: ORC/RXE/RXR/TQ1 become a MedicationRequest; a cancel keeps its id") {
  auto rde = [](std::string_view control_id, std::string_view orc1) {
    return join({msh("RDE^O11^RDE_O11", control_id), kPid,
                 seg("ORC", {{1, orc1}, {2, "RX100^EPIC"}, {9, "20260316080000"}, {12, "1234^Welby^Marcus^^^Dr"}}),
                 seg("TQ1", {{1, "1"}, {3, "Q6H"}, {7, "20260316"}, {8, "20260323"}}),
                 seg("RXE", {{2, "197361^Amlodipine 5 MG Oral Tablet^RXNORM"}, {3, "5"}, {5, "mg^mg^UCUM"},
                             {7, "^Take one tablet daily"}, {10, "30"}, {11, "TAB^tablet^L"}, {12, "2"}}),
                 seg("RXR", {{1, "PO^Oral^HL70162"}})});
  };
  const Converted c = convert(rde("RX1", "NW"));
  const auto& mr = c.one("MedicationRequest");
  CHECK(str(mr["status"]) == "active");
  CHECK(str(mr["intent"]) == "order");
  CHECK(str(mr["medicationCodeableConcept"]["coding"][0]["code"]) == "197361");
  CHECK(str(mr["authoredOn"]) == "2026-03-16T08:00:00Z");
  CHECK(str(mr["requester"]["display"]) == "Dr Marcus Welby");
  const auto& dosage = mr["dosageInstruction"][0];
  CHECK(str(dosage["text"]) == "Take one tablet daily");
  CHECK(str(dosage["timing"]["code"]["text"]) == "Q6H");
  CHECK(str(dosage["timing"]["repeat"]["boundsPeriod"]["end"]) == "2026-03-23");
  CHECK(str(dosage["route"]["coding"][0]["code"]) == "PO");
  CHECK(dosage["doseAndRate"][0]["doseQuantity"]["value"].GetDouble() == Approx(5));
  CHECK(mr["dispenseRequest"]["numberOfRepeatsAllowed"].GetInt() == 2);
  CHECK(mr["dispenseRequest"]["quantity"]["value"].GetDouble() == Approx(30));
  const Converted cancel = convert(rde("RX2", "CA"));
  CHECK(str(cancel.one("MedicationRequest")["id"]) == str(mr["id"]));
  CHECK(str(cancel.one("MedicationRequest")["status"]) == "cancelled");
  CHECK(str(convert(rde("RX3", "DC")).one("MedicationRequest")["status"]) == "stopped");
}

TEST_CASE("RAS^O17: RXA/RXR become a MedicationAdministration") {
  auto ras = [](std::string_view control_id, std::string_view completion) {
    return join({msh("RAS^O17^RAS_O17", control_id), kPid, seg("ORC", {{1, "RE"}, {2, "RX100^EPIC"}}),
                 seg("RXA", {{1, "0"}, {2, "1"}, {3, "20260316090000"}, {4, "20260316090000"},
                             {5, "197361^Amlodipine 5 MG Oral Tablet^RXNORM"}, {6, "5"}, {7, "mg^mg^UCUM"},
                             {18, "PATREF^Patient refused^L"}, {20, completion}}),
                 seg("RXR", {{1, "PO^Oral^HL70162"}})});
  };
  const Converted c = convert(ras("AD1", "CP"));
  const auto& ma = c.one("MedicationAdministration");
  CHECK(str(ma["status"]) == "completed");
  CHECK(str(ma["medicationCodeableConcept"]["coding"][0]["code"]) == "197361");
  CHECK(str(ma["effectiveDateTime"]) == "2026-03-16T09:00:00Z");
  CHECK(str(ma["dosage"]["route"]["coding"][0]["code"]) == "PO");
  CHECK(ma["dosage"]["dose"]["value"].GetDouble() == Approx(5));
  CHECK_FALSE(ma.HasMember("statusReason"));
  const Converted refused = convert(ras("AD2", "RE"));
  CHECK(str(refused.one("MedicationAdministration")["status"]) == "not-done");
  CHECK(str(refused.one("MedicationAdministration")["statusReason"][0]["coding"][0]["code"]) == "PATREF");
  CHECK(str(refused.one("MedicationAdministration")["id"]) == str(ma["id"]));
  CHECK(c.all("Immunization").empty());
}
