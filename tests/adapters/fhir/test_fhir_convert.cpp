// Unit tests for the FHIR R4 JSON converter (adapters/fhir/fhir_to_phr.h): ids, reference
// rewriting, Provenance, multi-patient split, identifier/code normalization, HL7 v2 parity
// of the person id, and structural errors (without PHI in the texts).
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "adapters/fhir/fhir_to_phr.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"
#include "gateway/core/resource_id.h"
#include "gateway/mapping/code_map.h"
#include "tests/adapters/fhir/fhir_fixtures.h"

using namespace phrgate;
using phrgate::testing::synthea_like_bundle;
using phrgate::testing::two_patient_bundle;

namespace {

std::vector<pipeline::ConvertedMessage> convert(const std::string& payload, std::string_view source = "emr-fhir",
                                                const mapping::CodeMaps* maps = nullptr,
                                                fhir::FhirConvertStats* stats = nullptr) {
  pipeline::ConvertInput in;
  in.payload = payload;
  in.source = source;
  in.code_maps = maps;
  return fhir::convert_fhir(in, stats);
}

const store::FhirResource* find(const pipeline::ConvertedMessage& m, std::string_view type) {
  for (const auto& r : m.resources)
    if (r.type == type) return &r;
  return nullptr;
}

rapidjson::Document json(const store::FhirResource& r) {
  rapidjson::Document d;
  d.Parse(r.json.c_str());
  REQUIRE(!d.HasParseError());
  return d;
}

// Person id the HL7 v2 converter gives one message (the converter library, not the adapter).
std::string hl7v2_person(const std::string& text, const mapping::CodeMaps* maps) {
  auto msg = hl7v2::Message::parse(text, nullptr);
  REQUIRE(msg);
  hl7v2::ConvertOptions opt;
  opt.source_name = "emr-adt";
  opt.code_maps = maps;
  auto r = hl7v2::convert_to_fhir(*msg, opt);
  REQUIRE(r.ok);
  return r.person_id;
}

std::string ref_of(const rapidjson::Value& v, const char* key) { return v[key]["reference"].GetString(); }

const mapping::CodeMaps& test_maps() {
  static auto maps = [] {
    std::vector<std::string> errors;
    auto m = mapping::CodeMaps::load_texts(
        {{"oids.csv",
          "source_system,source_code,target_system,target_code,target_display,scope\n"
          "oid,2.16.840.1.113883.6.1,http://loinc.org,,LOINC,\n"
          "oid,2.16.840.1.113883.4.1,http://hl7.org/fhir/sid/us-ssn,,SSN,\n"
          "assigning-authority,HOSP,http://hospital.smarthealthit.org,,Hospital MRN,\n"
          "http://local.example.org/codes,K1,http://loinc.org,2345-7,Glucose,\n"}},
        &errors);
    REQUIRE(m);
    return std::move(*m);
  }();
  return maps;
}

}  // namespace

TEST_CASE("FHIR convert: a Synthea-like Bundle keeps every clinical resource with new ids", "[fhir]") {
  fhir::FhirConvertStats stats;
  auto out = convert(synthea_like_bundle(), "emr-fhir", &test_maps(), &stats);
  REQUIRE(out.size() == 1);
  const auto& m = out[0];
  REQUIRE(m.ok);
  const std::string person = derive_resource_id("Patient", {"http://hospital.smarthealthit.org", "MRN-4711"});
  CHECK(m.person_id == person);
  // Patient first, Provenance last, the CapabilityStatement dropped and counted.
  REQUIRE(m.resources.size() == 7);
  CHECK(m.resources.front().type == "Patient");
  CHECK(m.resources.front().id == person);
  CHECK(m.resources.back().type == "Provenance");
  CHECK(stats.resources_dropped == 1);
  CHECK(stats.resources_kept == 6);
  for (const auto& r : m.resources) CHECK(r.person_id == person);

  const auto obs = json(*find(m, "Observation"));
  CHECK(std::string(obs["id"].GetString()) ==
        derive_resource_id("Observation", {"emr-fhir", "0b5e1c4e-1111-4a2b-9c3d-000000000005"}));
  CHECK(ref_of(obs, "subject") == "Patient/" + person);
  CHECK(ref_of(obs, "encounter") ==
        "Encounter/" + derive_resource_id("Encounter", {"emr-fhir", "0b5e1c4e-1111-4a2b-9c3d-000000000004"}));
  // Decimal precision kept ("21.50"), the LOINC OID mapped to its URI, no meta.
  CHECK(find(m, "Observation")->json.find("\"value\":21.50") != std::string::npos);
  CHECK(std::string(obs["code"]["coding"][0]["system"].GetString()) == "http://loinc.org");
  CHECK(!obs.HasMember("meta"));
  const auto enc = json(*find(m, "Encounter"));
  CHECK(std::string(enc["participant"][0]["individual"]["reference"].GetString()) ==
        "Practitioner/" + derive_resource_id("Practitioner", {"emr-fhir", "0b5e1c4e-1111-4a2b-9c3d-000000000003"}));
  // The SSN OID mapped; identifiers indexed for search.
  const auto& pat = m.resources.front();
  CHECK(std::find(pat.identifiers.begin(), pat.identifiers.end(),
                  std::make_pair(std::string("http://hl7.org/fhir/sid/us-ssn"), std::string("999-11-2222"))) !=
        pat.identifiers.end());
  CHECK(find(m, "Practitioner")->identifiers.size() == 1);

  // Provenance targets every other resource and names the source.
  const auto prov = json(m.resources.back());
  REQUIRE(prov["target"].Size() == m.resources.size() - 1);
  for (std::size_t i = 0; i + 1 < m.resources.size(); ++i)
    CHECK(std::string(prov["target"][static_cast<rapidjson::SizeType>(i)]["reference"].GetString()) ==
          m.resources[i].type + "/" + m.resources[i].id);
  CHECK(std::string(prov["agent"][0]["who"]["display"].GetString()).find("emr-fhir") != std::string::npos);
}

TEST_CASE("FHIR convert: ids are deterministic - other sources get other ids but the same person", "[fhir]") {
  auto a = convert(synthea_like_bundle());
  auto b = convert(synthea_like_bundle());
  auto c = convert(synthea_like_bundle(), "other-emr");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  REQUIRE(c.size() == 1);
  REQUIRE(a[0].resources.size() == b[0].resources.size());
  for (std::size_t i = 0; i < a[0].resources.size(); ++i) CHECK(a[0].resources[i].id == b[0].resources[i].id);
  CHECK(a[0].person_id == c[0].person_id);
  CHECK(find(a[0], "Observation")->id != find(c[0], "Observation")->id);
  CHECK(a[0].resources.back().id == b[0].resources.back().id);  // Provenance too
}

TEST_CASE("FHIR convert: transaction references become urn:uuid for standalone Bundles", "[fhir]") {
  pipeline::ConvertInput in;
  const std::string payload = synthea_like_bundle();
  in.payload = payload;
  in.source = "convert";
  in.uuid_references = true;
  auto out = fhir::convert_fhir(in);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].ok);
  const auto obs = json(*find(out[0], "Observation"));
  CHECK(ref_of(obs, "subject") == "urn:uuid:" + out[0].person_id);
}

TEST_CASE("FHIR convert: the same MRN from HL7 v2 and FHIR gives the same person", "[fhir]") {
  const std::string hl7 =
      "MSH|^~\\&|EMR|HOSPA|PHR|GW|20240101120000||ADT^A01|MSG1|P|2.5.1\r"
      "PID|1||MRN-4711^^^HOSP^MR~77^^^OTHER&2.16.840.1.113883.19.5&ISO||Testperson^Ada||19700203|F\r"
      "PV1|1|O\r";
  const std::string v2_person = hl7v2_person(hl7, &test_maps());
  // The Synthea-like Patient carries MR MRN-4711 at http://hospital.smarthealthit.org, which
  // the assigning-authority table gives for HL7's HOSP.
  auto f = convert(synthea_like_bundle(), "emr-fhir", &test_maps());
  REQUIRE(f.size() == 1);
  CHECK(f[0].person_id == v2_person);

  // An OID-assigned identifier: urn:oid in FHIR, CX-4.2/4.3 ISO in HL7.
  const std::string fhir_oid = R"({"resourceType":"Patient","identifier":[
      {"system":"urn:oid:2.16.840.1.113883.19.5","value":"77"}]})";
  const std::string hl7_oid =
      "MSH|^~\\&|EMR|HOSPA|PHR|GW|20240101120000||ADT^A01|MSG2|P|2.5.1\r"
      "PID|1||77^^^OTHER&2.16.840.1.113883.19.5&ISO^MR||Testperson^Ada\r";
  auto fb = convert(fhir_oid);
  REQUIRE(fb.size() == 1);
  REQUIRE(fb[0].ok);
  CHECK(fb[0].person_id == hl7v2_person(hl7_oid, &test_maps()));
}

TEST_CASE("FHIR convert: one message per Patient - shared resources go with each", "[fhir]") {
  fhir::FhirConvertStats stats;
  auto out = convert(two_patient_bundle(), "emr-fhir", nullptr, &stats);
  REQUIRE(out.size() == 2);
  CHECK(stats.patients == 2);
  const std::string pa = derive_resource_id("Patient", {"http://hospital.example.org/mrn", "A-1"});
  const std::string pb = derive_resource_id("Patient", {"http://hospital.example.org/mrn", "B-2"});
  CHECK(out[0].person_id == pa);
  CHECK(out[1].person_id == pb);
  for (const auto& m : out) {
    REQUIRE(m.ok);
    REQUIRE(m.resources.size() == 4);  // Patient, Organization, Observation, Provenance
    CHECK(find(m, "Organization") != nullptr);
    const auto obs = json(*find(m, "Observation"));
    CHECK(ref_of(obs, "subject") == "Patient/" + m.person_id);  // absolute URL of the server too
  }
  const auto oa = json(*find(out[0], "Observation"));
  CHECK(std::string(oa["performer"][0]["reference"].GetString()) ==
        "Organization/" + derive_resource_id("Organization", {"emr-fhir", "org"}));
  // The server's base URL is named in the Provenance.
  CHECK(out[0].resources.back().json.find("http://emr.example.org/fhir") != std::string::npos);
}

TEST_CASE("FHIR convert: references outside the payload", "[fhir]") {
  const std::string payload = R"({"resourceType":"Bundle","type":"searchset","entry":[
   {"fullUrl":"https://srv.example.org/r4/Patient/p1","resource":{"resourceType":"Patient","id":"p1",
     "identifier":[{"system":"http://hospital.example.org/mrn","value":"X"}]}},
   {"fullUrl":"https://srv.example.org/r4/Observation/o1","resource":{"resourceType":"Observation","id":"o1",
     "meta":{"versionId":"2","lastUpdated":"2024-01-01T00:00:00Z"},"status":"final","code":{"text":"t"},
     "subject":{"reference":"Patient/p1/_history/4"},
     "encounter":{"reference":"https://srv.example.org/r4/Encounter/e9"},
     "basedOn":[{"reference":"https://elsewhere.example.com/fhir/ServiceRequest/s1"}],
     "hasMember":[{"reference":"#inner"}],
     "derivedFrom":[{"reference":"Observation?identifier=abc"}]}}]})";
  auto out = convert(payload);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].ok);
  const auto obs = json(*find(out[0], "Observation"));
  CHECK(ref_of(obs, "subject") == "Patient/" + out[0].person_id);
  CHECK(ref_of(obs, "encounter") == "Encounter/" + derive_resource_id("Encounter", {"emr-fhir", "e9"}));
  CHECK(std::string(obs["basedOn"][0]["reference"].GetString()) ==
        "https://elsewhere.example.com/fhir/ServiceRequest/s1");
  CHECK(std::string(obs["hasMember"][0]["reference"].GetString()) == "#inner");
  CHECK(std::string(obs["derivedFrom"][0]["reference"].GetString()) == "Observation?identifier=abc");
}

TEST_CASE("FHIR convert: local codes get the table's target coding first", "[fhir]") {
  const std::string payload = R"({"resourceType":"Bundle","type":"collection","entry":[
   {"resource":{"resourceType":"Patient","id":"p","identifier":[{"system":"urn:oid:2.16.840.1.113883.4.1","value":"1"}]}},
   {"resource":{"resourceType":"Observation","id":"o","status":"final","subject":{"reference":"Patient/p"},
     "code":{"coding":[{"system":"http://local.example.org/codes","code":"K1"}]}}}]})";
  auto out = convert(payload, "emr-fhir", &test_maps());
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].ok);
  CHECK(out[0].person_id == derive_resource_id("Patient", {"http://hl7.org/fhir/sid/us-ssn", "1"}));
  const auto obs = json(*find(out[0], "Observation"));
  REQUIRE(obs["code"]["coding"].Size() == 2);
  CHECK(std::string(obs["code"]["coding"][0]["code"].GetString()) == "2345-7");
  CHECK(std::string(obs["code"]["coding"][1]["code"].GetString()) == "K1");
}

TEST_CASE("FHIR convert: bad payloads fail with an operator-readable error and no PHI", "[fhir]") {
  struct Case {
    const char* payload;
    const char* expect;
  };
  const Case cases[] = {
      {R"(not json Ada)", "not valid JSON"},
      {R"({"resourceType":"Pateint","name":[{"family":"Ada"}]})", "not a FHIR R4 resource"},
      {R"({"resourceType":"Patient","id":"bad id Ada","identifier":[{"value":"1"}]})", "Patient.id is not a valid"},
      {R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient",
          "identifier":[{"value":"MRN-SECRET"}]}},{"resource":{"resourceType":"Observation","code":{"text":"x"},
          "subject":{"reference":"Patient"}}}]})",
       "Bundle.entry[1].resource(Observation).status is required"},
      {R"({"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient",
          "identifier":[{"value":"MRN-SECRET"}]}},{"resource":{"resourceType":"Observation","status":"final",
          "code":{"text":"x"},"subject":{"reference":"Patient Ada"}}}]})",
       "subject.reference is not a valid reference"},
      {R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/MRN-SECRET"}})",
       "refers to a Patient that is not in the payload"},
      {R"({"resourceType":"Patient","name":[{"family":"Ada"}]})", "has no identifier"},
      {R"({"resourceType":"Bundle","type":"nonsense"})", "Bundle.type"},
      {R"({"resourceType":"Organization","name":"Ada clinic"})", "has no Patient"},
      {R"({"resourceType":"Patient","identifier":[{"value":"1"}],"name":[{"family":"A\u0001da"}]})",
       "control character"},
  };
  for (const Case& c : cases) {
    INFO(c.payload);
    auto out = convert(c.payload);
    REQUIRE(out.size() == 1);
    CHECK(!out[0].ok);
    CHECK(out[0].error.find(c.expect) != std::string::npos);
    CHECK(out[0].error.find("Ada") == std::string::npos);
    CHECK(out[0].error.find("SECRET") == std::string::npos);
  }
}

TEST_CASE("FHIR convert: sniffing", "[fhir]") {
  CHECK(fhir::sniff_fhir_json("\xEF\xBB\xBF  {\n \"resourceType\": \"Bundle\""));
  CHECK_FALSE(fhir::sniff_fhir_json("MSH|^~\\&|"));
  CHECK_FALSE(fhir::sniff_fhir_json("{\"hello\": 1}"));
  CHECK_FALSE(fhir::sniff_fhir_json("<ClinicalDocument resourceType"));
}
