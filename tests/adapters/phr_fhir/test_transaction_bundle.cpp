// Unit tests of the phr_fhir pieces without I/O: the transaction Bundle (conditional update
// and create by identifier, PUT by id otherwise, urn:uuid references), status classification
// and option parsing.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "adapters/phr_fhir/phr_fhir_sink.h"
#include "adapters/phr_fhir/transaction_bundle.h"
#include "tests/adapters/phr_fhir/phr_fhir_test_support.h"

using namespace phrgate;
using namespace phrgate::phr_fhir;

TEST_CASE("transaction Bundles address resources by identifier, else by deterministic id", "[phr_fhir][unit]") {
  auto patient = testing::patient_resource("A&1");
  auto obs = testing::observation_resource("A&1", "k");
  auto cond = testing::condition_resource("A&1", "c");
  auto bundle = build_transaction_bundle({patient, obs, cond}, nullptr);
  CHECK(bundle.entries == 3);
  rapidjson::Document doc;
  doc.Parse(bundle.json.c_str());
  REQUIRE(!doc.HasParseError());
  CHECK(std::string(doc["type"].GetString()) == "transaction");
  const auto& e = doc["entry"];
  std::string patient_urn = entry_urn("Patient", "pat-A&1");
  CHECK(patient_urn.size() == 45);
  CHECK(patient_urn.rfind("urn:uuid:", 0) == 0);
  CHECK(patient_urn[23] == '5');
  CHECK(std::string(e[0]["fullUrl"].GetString()) == patient_urn);
  CHECK(std::string(e[0]["request"]["method"].GetString()) == "PUT");
  CHECK(std::string(e[0]["request"]["url"].GetString()) == "Patient?identifier=urn:test:mrn|A%261");
  CHECK_FALSE(e[0]["resource"].HasMember("id"));
  CHECK(std::string(e[1]["request"]["url"].GetString()) == "Observation?identifier=urn:test:obs|A%261-k");
  CHECK(std::string(e[1]["resource"]["subject"]["reference"].GetString()) == patient_urn);
  CHECK(std::string(e[2]["request"]["url"].GetString()) == "Condition/cond-A&1-c");
  CHECK(std::string(e[2]["resource"]["id"].GetString()) == "cond-A&1-c");
  CHECK(std::string(e[2]["resource"]["subject"]["reference"].GetString()) == patient_urn);
  CHECK_FALSE(e[2].HasMember("fullUrl"));

  // Deterministic: the same message gives the same Bundle.
  CHECK(build_transaction_bundle({patient, obs, cond}, nullptr).json == bundle.json);
}

TEST_CASE("only_if_absent becomes a conditional create; the person's Patient is added when missing", "[phr_fhir][unit]") {
  auto patient = testing::patient_resource("B");
  patient.only_if_absent = true;
  auto obs = testing::observation_resource("B", "1");
  rapidjson::Document doc;
  doc.Parse(build_transaction_bundle({patient, obs}, nullptr).json.c_str());
  CHECK(std::string(doc["entry"][0]["request"]["method"].GetString()) == "POST");
  CHECK(std::string(doc["entry"][0]["request"]["url"].GetString()) == "Patient");
  CHECK(std::string(doc["entry"][0]["request"]["ifNoneExist"].GetString()) == "identifier=urn:test:mrn|B");

  auto stored = testing::patient_resource("B");
  stored.only_if_absent = true;
  doc.Parse(build_transaction_bundle({obs}, &stored).json.c_str());
  REQUIRE(doc["entry"].Size() == 2);
  CHECK(std::string(doc["entry"][0]["request"]["method"].GetString()) == "POST");
  CHECK(std::string(doc["entry"][1]["resource"]["subject"]["reference"].GetString()) == entry_urn("Patient", "pat-B"));

  store::FhirResource broken = obs;
  broken.json = "{not json";
  CHECK_THROWS(build_transaction_bundle({broken}, nullptr));
}

TEST_CASE("4xx answers are permanent except auth, timeout and rate limits", "[phr_fhir][unit]") {
  for (int s : {400, 404, 409, 412, 422}) CHECK(is_permanent_rejection(s));
  for (int s : {200, 401, 403, 408, 429, 500, 502, 503, 0}) CHECK_FALSE(is_permanent_rejection(s));
}

TEST_CASE("options parse with defaults and report bad values with their path", "[phr_fhir][unit]") {
  auto parse = [](const char* json) {
    config::AdapterConfig cfg;
    cfg.name = "ext";
    cfg.type = "phr_fhir";
    cfg.path = "$.sinks[1]";
    cfg.options = std::make_shared<rapidjson::Document>();
    cfg.options->Parse(json);
    return parse_phr_fhir_options(cfg, "/data");
  };
  auto o = parse(R"({"name":"ext","type":"phr_fhir","url":"https://phr/fhir"})");
  CHECK(o.outbox_path == "/data/phr_fhir-ext.outbox.db");
  CHECK(o.parallel_persons == 4);
  CHECK(o.client.auth.kind == fhir_client::AuthKind::None);
  o = parse(R"({"url":"https://phr/fhir","backoff":{"base_ms":50,"cap_ms":1000},"max_attempts":5,
               "auth":{"kind":"smart_backend","token_url":"https://phr/token","client_id":"c",
                       "private_key_file":"/k.pem","alg":"ES384","key_id":"k1"}})");
  CHECK(o.backoff_base.count() == 50);
  CHECK(o.max_attempts == 5);
  CHECK(o.client.auth.alg == fhir_client::JwtAlg::ES384);
  try {
    parse(R"({"url":"https://phr/fhir","auth":{"kind":"client_credentials","token_url":"https://t","client_id":"c"}})");
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "$.sinks[1].auth.client_secret: required for client_credentials");
  }
  CHECK_THROWS(parse(R"({"url":"https://phr/fhir","backoff":{"base_ms":500,"cap_ms":100}})"));
  config::AdapterConfig no_dir;
  no_dir.name = "ext";
  no_dir.path = "$.sinks[0]";
  no_dir.options = std::make_shared<rapidjson::Document>();
  no_dir.options->Parse(R"({"url":"https://phr/fhir"})");
  CHECK_THROWS_WITH(parse_phr_fhir_options(no_dir, ""), "$.sinks[0].outbox_path: required (no data_dir known)");
}
