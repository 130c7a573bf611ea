// Document-level behaviour of the C-CDA converter: Patient (ids via the OID table, the same
// Patient id rule as HL7 v2), authors/custodian, the encompassing encounter, the original
// kept as a DocumentReference, the Provenance, dates and zones, deterministic ids across
// versions of a document set, the golden CCD, registration and sniffing.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include <rapidjson/prettywriter.h>

#include "adapters/ccda/ccda_context.h"
#include "adapters/ccda/register_ccda.h"
#include "gateway/core/resource_id.h"
#include "gateway/pipeline/bundle.h"
#include "tests/adapters/ccda/ccda_test_support.h"

using namespace phrgate;
using namespace phrgate::ccda;
using test::json_of;

namespace {

std::string str(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key) && v[key].IsString() ? v[key].GetString() : std::string();
}

const std::initializer_list<std::string> kAllSections = {
    "allergies", "medications", "problems", "results", "vitals", "immunizations", "procedures",
    "encounters", "social", "plan", "functional_mental", "family_history", "notes"};

std::map<std::string, std::string> ids_by_key(const pipeline::ConvertedMessage& m) {
  std::map<std::string, std::string> out;  // "Type|first identifier value or code" -> id
  for (const auto& r : m.resources) out[r.type + "/" + r.id] = r.json;
  return out;
}

}  // namespace

TEST_CASE("patient demographics from recordTarget", "[ccda][document]") {
  auto m = test::convert(test::document_with({}));
  REQUIRE(m.ok);
  REQUIRE(test::check_structure(m).empty());
  auto p = test::parse(m);
  const auto* pt = p.one("Patient");
  REQUIRE(pt);
  const auto& patient = *pt;
  // Same rule as HL7 v2: patient_resource_id(system, value) of the first identifier.
  CHECK(m.person_id == patient_resource_id("urn:oid:2.16.840.1.113883.19.5.99999.2", "MRN-4242"));
  CHECK(str(patient["identifier"][0], "system") == "urn:oid:2.16.840.1.113883.19.5.99999.2");
  CHECK(str(patient["identifier"][1], "system") == "http://hl7.org/fhir/sid/us-ssn");
  CHECK(str(patient["name"][0], "use") == "official");
  CHECK(str(patient["name"][0], "family") == "Testperson");
  CHECK(std::string(patient["name"][0]["given"][1].GetString()) == "Marie");
  CHECK(std::string(patient["name"][0]["prefix"][0].GetString()) == "Ms.");
  CHECK(str(patient, "gender") == "female");
  CHECK(str(patient, "birthDate") == "1975-05-02");
  CHECK(str(patient["address"][0], "use") == "home");
  CHECK(patient["address"][0]["line"].Size() == 2);
  CHECK(str(patient["telecom"][0], "value") == "+1(555)555-2003");
  CHECK(str(patient["telecom"][0], "system") == "phone");
  CHECK(str(patient["telecom"][1], "system") == "email");
  CHECK(str(patient["maritalStatus"]["coding"][0], "system") ==
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus");
  const auto& race = patient["extension"][0];
  CHECK(str(race, "url") == "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race");
  CHECK(str(race["extension"][0], "url") == "ombCategory");
  CHECK(str(race["extension"][1], "url") == "detailed");
  CHECK(str(race["extension"][2], "valueString") == "White, European");
  CHECK(str(patient["extension"][1], "url") == "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity");
  CHECK(str(patient["communication"][0]["language"]["coding"][0], "code") == "en");
  CHECK(patient["communication"][0]["preferred"].GetBool());
  CHECK(patient.HasMember("managingOrganization"));
}

TEST_CASE("nullFlavor demographics are omitted, not invented", "[ccda][document]") {
  auto m = test::convert(test::document_with(
      {}, {{"<administrativeGenderCode code=\"F\" codeSystem=\"2.16.840.1.113883.5.1\" displayName=\"Female\"/>",
            "<administrativeGenderCode nullFlavor=\"UNK\"/>"},
           {"<birthTime value=\"19750502\"/>", "<birthTime nullFlavor=\"UNK\"/>"},
           {"<telecom value=\"tel:+1(555)555-2003\" use=\"HP\"/>", "<telecom nullFlavor=\"NI\"/>"}}));
  REQUIRE(m.ok);
  REQUIRE(test::check_structure(m).empty());
  const auto parsed = test::parse(m);
  const auto* pt = parsed.one("Patient");
  REQUIRE(pt);
  CHECK(str(*pt, "gender") == "unknown");
  CHECK_FALSE(pt->HasMember("birthDate"));
  CHECK((*pt)["telecom"].Size() == 1);
}

TEST_CASE("a patient without identifiers gets a Patient scoped to the document set", "[ccda][document]") {
  auto m = test::convert(test::document_with(
      {}, {{"<id root=\"2.16.840.1.113883.19.5.99999.2\" extension=\"MRN-4242\"/>", ""},
           {"<id root=\"2.16.840.1.113883.4.1\" extension=\"999-12-3456\"/>", "<id nullFlavor=\"NI\"/>"}}));
  REQUIRE(m.ok);
  REQUIRE(test::check_structure(m).empty());
  CHECK(m.person_id == derive_resource_id("Patient", {"ccda-document-set", m.document_set, "recordTarget"}));
  const auto parsed = test::parse(m);
  const auto* patient = parsed.one("Patient");
  REQUIRE(patient);
  CHECK_FALSE(patient->HasMember("identifier"));
  auto none = test::convert("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1.2.3\"/></ClinicalDocument>");
  CHECK_FALSE(none.ok);
  CHECK(none.error.find("recordTarget") != std::string::npos);
}

TEST_CASE("a document without effectiveTime: Provenance from the author time, else none", "[ccda][document]") {
  auto m = test::convert(test::document_with({}, {{"<effectiveTime value=\"20240315143000-0500\"/>", ""}}));
  REQUIRE(m.ok);
  REQUIRE(test::check_structure(m).empty());
  const auto parsed = test::parse(m);
  const auto* prov = parsed.one("Provenance");
  REQUIRE(prov);
  CHECK(str(*prov, "recorded") == "2024-03-15T14:30:00-05:00");  // the author's time
  auto bare = test::convert(test::document_with(
      {}, {{"<effectiveTime value=\"20240315143000-0500\"/>", ""}, {"<time value=\"20240315143000-0500\"/>", ""}}));
  REQUIRE(bare.ok);
  // No time anywhere (not a valid CDA): no Provenance rather than an invented recorded time.
  CHECK(test::parse(bare).count("Provenance") == 0);
  CHECK(test::parse(bare).count("DocumentReference") == 1);
}

TEST_CASE("authors, custodian, encompassing encounter, original DocumentReference and Provenance",
          "[ccda][document]") {
  const std::string xml = test::document_with({"allergies"});
  auto m = test::convert(xml);
  REQUIRE(m.ok);
  REQUIRE(test::check_structure(m).empty());
  CHECK(m.control_id == "2.16.840.1.113883.19.5.99999.1^DOC-1001");
  CHECK(m.document_set == "2.16.840.1.113883.19.5.99999.19^SET-77");
  CHECK(m.document_version == 1);
  auto p = test::parse(m);
  const auto* dr = p.find("DocumentReference", "application/cda+xml");
  REQUIRE(dr);
  const auto& att = (*dr)["content"][0]["attachment"];
  CHECK(att["size"].GetUint64() == xml.size());
  CHECK(str(att, "data").size() == 4 * ((xml.size() + 2) / 3));
  CHECK(str(att, "hash").size() == 28);  // base64 of a 20-byte SHA-1
  CHECK(str(*dr, "status") == "current");
  CHECK(str((*dr)["type"]["coding"][0], "code") == "34133-9");
  CHECK(str(*dr, "date") == "2024-03-15T14:30:00-05:00");
  CHECK(str((*dr)["masterIdentifier"], "value") == "DOC-1001");
  CHECK((*dr)["author"].Size() == 1);
  CHECK(dr->HasMember("custodian"));
  CHECK(str((*dr)["context"]["period"], "start") == "2023-01-01");
  CHECK(str((*dr)["securityLabel"][0]["coding"][0], "code") == "N");
  const auto* enc = p.one("Encounter");
  REQUIRE(enc);
  CHECK(str((*enc)["class"], "code") == "AMB");
  CHECK(str((*enc)["period"], "start") == "2024-03-15T14:00:00-05:00");
  CHECK(p.find("Practitioner", "1112223339"));
  CHECK(p.find("Organization", "Springfield Community Clinic"));
  const auto* prov = p.one("Provenance");
  REQUIRE(prov);
  CHECK(str((*prov)["entity"][0], "role") == "source");
  CHECK(str((*prov)["entity"][0]["what"], "reference") == "DocumentReference/" + str(*dr, "id"));
  CHECK(str(*prov, "recorded") == "2024-03-15T14:30:00-05:00");
  CHECK((*prov)["target"].Size() == m.resources.size() - 2);  // all but itself and the original
  CHECK(str((*prov)["agent"][1]["type"]["coding"][0], "code") == "custodian");
}

TEST_CASE("times: precision kept, zone kept, default zone for local times", "[ccda][document]") {
  auto m = test::convert(test::document_with(
                             {"results"}, {{"<effectiveTime value=\"20240310083000-0500\"/>\n            <value xsi:type=\"PQ\" value=\"11.2\"",
                                            "<effectiveTime value=\"202403100830\"/>\n            <value xsi:type=\"PQ\" value=\"11.2\""}}),
                         nullptr, false, "+01:00");
  REQUIRE(m.ok);
  auto p = test::parse(m);
  CHECK(str(*p.find("Observation", "718-7"), "effectiveDateTime") == "2024-03-10T08:30:00+01:00");
  CHECK(str(*p.one("Patient"), "birthDate") == "1975-05-02");
  std::string out;
  CHECK(detail::ts_to_fhir("2024", "Z", detail::TimeKind::DateTime, out));
  CHECK(out == "2024");
  out.clear();
  CHECK(detail::ts_to_fhir("20240310083015.123+0000", "Z", detail::TimeKind::DateTime, out));
  CHECK(out == "2024-03-10T08:30:15.123Z");
  out.clear();
  CHECK_FALSE(detail::ts_to_fhir("2024-03-10", "Z", detail::TimeKind::DateTime, out));
  CHECK_FALSE(detail::ts_to_fhir("20241310", "Z", detail::TimeKind::DateTime, out));
  CHECK_FALSE(detail::ts_to_fhir("20100431", "Z", detail::TimeKind::DateTime, out));
  CHECK_FALSE(detail::ts_to_fhir("20230229", "Z", detail::TimeKind::DateTime, out));
  CHECK_FALSE(detail::ts_to_fhir("201507222300-5000", "Z", detail::TimeKind::DateTime, out));
  CHECK(detail::ts_to_fhir("20240229", "Z", detail::TimeKind::Date, out));
  CHECK(out == "2024-02-29");
  out.clear();
  CHECK(out.empty());
}

TEST_CASE("ids are deterministic and stable across versions of a document set", "[ccda][document]") {
  const std::string v1 = test::document_with(kAllSections);
  auto a = test::convert(v1);
  auto b = test::convert(v1);
  REQUIRE(a.ok);
  REQUIRE(a.resources.size() == b.resources.size());
  for (std::size_t i = 0; i < a.resources.size(); ++i) {
    CHECK(a.resources[i].id == b.resources[i].id);
    CHECK(a.resources[i].json == b.resources[i].json);
  }
  // Version 2 of the same set: new document id, one allergy removed, one problem changed.
  std::string v2 = test::document_with(
      kAllSections, {{"extension=\"DOC-1001\"", "extension=\"DOC-1002\""},
                     {"<versionNumber value=\"1\"/>", "<versionNumber value=\"2\"/>"},
                     {"<value xsi:type=\"CD\" code=\"385093006\" codeSystem=\"2.16.840.1.113883.6.96\" "
                      "displayName=\"Community acquired pneumonia\">",
                      "<value xsi:type=\"CD\" code=\"233604007\" codeSystem=\"2.16.840.1.113883.6.96\" "
                      "displayName=\"Pneumonia\">"}});
  auto c = test::convert(v2);
  REQUIRE(c.ok);
  CHECK(c.document_set == a.document_set);
  CHECK(c.document_version == 2);
  CHECK(c.control_id != a.control_id);
  auto before = ids_by_key(a);
  auto after = ids_by_key(c);
  int same_id = 0;
  for (const auto& [k, json] : after) same_id += before.count(k);
  // Every resource keeps its id (entries are keyed by their own ids); only contents change.
  CHECK(same_id == static_cast<int>(after.size()));
  // An entry without any id keeps its id when unchanged (content key).
  const auto pa = test::parse(a);
  const auto pc = test::parse(c);
  const auto* sev_a = pa.find("Observation", "5811-5");
  const auto* sev_c = pc.find("Observation", "5811-5");
  REQUIRE(sev_a);
  REQUIRE(sev_c);
  CHECK(str(*sev_a, "id") == str(*sev_c, "id"));
  // A different document set gets different entry ids (but the same Patient).
  auto d = test::convert(test::document_with(kAllSections, {{"extension=\"SET-77\"", "extension=\"SET-78\""}}));
  REQUIRE(d.ok);
  CHECK(d.person_id == a.person_id);
  CHECK(test::parse(d).find("Observation", "5811-5") != nullptr);
  CHECK(str(*test::parse(d).find("Observation", "5811-5"), "id") != str(*sev_a, "id"));
}

TEST_CASE("without setId the document id is the set; versionNumber defaults to 1", "[ccda][document]") {
  auto m = test::convert(test::document_with(
      {}, {{"<setId root=\"2.16.840.1.113883.19.5.99999.19\" extension=\"SET-77\"/>", ""},
           {"<versionNumber value=\"1\"/>", ""}}));
  REQUIRE(m.ok);
  CHECK(m.document_set == m.control_id);
  CHECK(m.document_version == 1);
}

TEST_CASE("the full fixture CCD converts to its golden bundle", "[ccda][document][golden]") {
  const std::string xml = test::fixture("ccd_full.xml");
  auto m = test::convert(xml, nullptr, true);
  REQUIRE(m.ok);
  INFO(test::check_structure(m, true));
  REQUIRE(test::check_structure(m, true).empty());
  std::string bundle;
  pipeline::append_transaction_bundle(bundle, m.resources);
  const std::string golden_path = std::string(PHRGATE_CCDA_FIXTURES) + "/ccd_full.expected.json";
  if (const char* update = std::getenv("PHRGATE_UPDATE_GOLDEN"); update && *update == '1') {
    rapidjson::Document d;
    d.Parse(bundle.c_str());
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 1);
    d.Accept(w);
    std::ofstream(golden_path, std::ios::binary) << buf.GetString() << "\n";
    WARN("golden bundle rewritten");
  }
  rapidjson::Document got, want;
  got.Parse(bundle.c_str());
  want.Parse(test::read_text(golden_path).c_str());
  REQUIRE_FALSE(want.HasParseError());
  REQUIRE(got["entry"].Size() == want["entry"].Size());
  for (rapidjson::SizeType i = 0; i < want["entry"].Size(); ++i) {
    INFO("entry " << i << " " << str(want["entry"][i]["resource"], "resourceType"));
    CHECK(json_of(got["entry"][i]) == json_of(want["entry"][i]));
  }
}

TEST_CASE("registration: content type, sniff, and a transaction bundle", "[ccda][document]") {
  pipeline::Registry registry;
  register_ccda(registry);
  const auto* conv = registry.converter("application/cda+xml");
  REQUIRE(conv);
  const std::string xml = test::document_with({"vitals"});
  CHECK(registry.sniff(std::string_view(xml).substr(0, 512)) == conv);
  CHECK(conv->sniff("\xEF\xBB\xBF\n  <?xml version=\"1.0\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\">"));
  CHECK_FALSE(conv->sniff("MSH|^~\\&|A"));
  CHECK_FALSE(conv->sniff("<Bundle xmlns=\"http://hl7.org/fhir\">"));
  CHECK_FALSE(conv->sniff("{\"resourceType\":\"ClinicalDocument\"}"));
  pipeline::ConvertInput in;
  in.payload = xml;
  in.code_maps = &test::code_maps();
  in.uuid_references = true;
  auto results = conv->convert(in);
  REQUIRE(results.size() == 1);
  REQUIRE(results[0].ok);
  CHECK(test::check_structure(results[0], true).empty());
  std::string bundle;
  pipeline::append_transaction_bundle(bundle, results[0].resources);
  rapidjson::Document d;
  d.Parse(bundle.c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(str(d, "type") == "transaction");
}
