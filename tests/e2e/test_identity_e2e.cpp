// End-to-end patient identity with the real daemon: the same person sent by two hospitals
// (different MRNs and assigning authorities) becomes one PHR Patient carrying both
// identifiers, found by either, with both hospitals' records in $everything; with strict
// thresholds the second hospital's record is held for review, and an operator's link
// releases it to the chosen person (and is audited). Synthetic people only.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "adapters/common/mllp/mllp_client.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;

namespace {
const std::string kToken = "identity-e2e-token-0123456789";

std::string adt(const std::string& facility, const std::string& control_id, const std::string& mrn,
                const std::string& visit) {
  return "MSH|^~\\&|EMR|" + facility + "|PHRGATE|PHR|20261124101500-0500||ADT^A01|" + control_id +
         "|P|2.5.1\rEVN|A01|20261124101500-0500\rPID|1||" + mrn + "^^^" + facility +
         "^MR||Holloway^Margaret||19610412|F|||12 Elm Street^^Cambridge^MA^02139||^PRN^PH^^^617^5550101\r"
         "PV1|1|I|W^1^1||||||||||||||||" + visit + "^^^" + facility + "^VN|||||||||||||||||||||||||20261124083000-0500\r";
}

std::string oru(const std::string& facility, const std::string& control_id, const std::string& mrn) {
  return "MSH|^~\\&|LAB|" + facility + "|PHRGATE|PHR|20261124111500-0500||ORU^R01|" + control_id +
         "|P|2.5.1\rPID|1||" + mrn + "^^^" + facility +
         "^MR||Holloway^Margaret||19610412|F|||12 Elm Street^^Cambridge^MA^02139||^PRN^PH^^^617^5550101\r"
         "OBR|1||F-" + control_id + "^" + facility + "|2345-7^Glucose^LN|||20261124090000-0500\r"
         "OBX|1|NM|2345-7^Glucose^LN||98|mg/dL^mg/dL^UCUM|70-99|N|||F|||20261124090000-0500\r";
}

std::string patient_id_for(uint16_t http, const std::string& mrn) {
  auto found = get_json(http, "/fhir/Patient?identifier=" + mrn, kToken);
  if (found["total"].GetInt() != 1) return {};
  return found["entry"][0]["resource"]["id"].GetString();
}

int count_type(const rapidjson::Value& bundle, const std::string& type) {
  int n = 0;
  for (const auto& e : bundle["entry"].GetArray())
    if (type == e["resource"]["resourceType"].GetString()) ++n;
  return n;
}
}  // namespace

TEST_CASE("identity: one person from two hospitals is one Patient with both identifiers", "[e2e]") {
  TempDir dir;
  DaemonProcess daemon(dir.path(), basic_config(dir.path(), kToken));
  daemon.start();
  const uint16_t http = daemon.http_port();
  phrgate::mllp::MllpClient client;
  client.connect("127.0.0.1", daemon.source_port("emr"));
  REQUIRE(segment_field(client.send(adt("HOSP_A", "IA-1", "A-100", "VA-1")), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);
  REQUIRE(segment_field(client.send(oru("HOSP_B", "IB-1", "B-7")), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);

  const std::string by_a = patient_id_for(http, "A-100");
  const std::string by_b = patient_id_for(http, "B-7");
  REQUIRE_FALSE(by_a.empty());
  CHECK(by_a == by_b);
  auto patient = get_json(http, "/fhir/Patient/" + by_a, kToken);
  std::vector<std::string> values;
  for (const auto& i : patient["identifier"].GetArray()) values.emplace_back(i["value"].GetString());
  CHECK(std::find(values.begin(), values.end(), "A-100") != values.end());
  CHECK(std::find(values.begin(), values.end(), "B-7") != values.end());

  auto everything = get_json(http, "/fhir/Patient/" + by_a + "/$everything", kToken);
  CHECK(count_type(everything, "Patient") == 1);
  CHECK(count_type(everything, "Encounter") == 1);    // from hospital A
  CHECK(count_type(everything, "Observation") == 1);  // from hospital B
  daemon.stop();
}

TEST_CASE("identity: a doubtful match is held until an operator links it", "[e2e]") {
  TempDir dir;
  std::string config = basic_config(dir.path(), kToken);
  config.replace(config.find("\"pipeline\":"), 0, "\"identity\": {\"upper_threshold\": 200},\n  ");
  DaemonProcess daemon(dir.path(), config);
  daemon.start();
  const uint16_t http = daemon.http_port();
  phrgate::mllp::MllpClient client;
  client.connect("127.0.0.1", daemon.source_port("emr"));
  REQUIRE(segment_field(client.send(adt("HOSP_A", "HA-1", "A-200", "VA-2")), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);
  REQUIRE(segment_field(client.send(oru("HOSP_B", "HB-1", "B-300")), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);

  CHECK(patient_id_for(http, "B-300").empty());  // held: nothing stored for it yet
  auto review = get_json(http, "/api/identity/review", kToken);
  REQUIRE(review["items"].Size() == 1);
  const int64_t review_id = review["items"][0]["id"].GetInt64();
  const std::string person = patient_id_for(http, "A-200");
  REQUIRE_FALSE(person.empty());

  auto linked = http_request("127.0.0.1", http, "POST", "/api/identity/review/" + std::to_string(review_id) + "/link",
                             "{\"person_id\":\"" + person + "\"}",
                             {{"Authorization", "Bearer " + kToken}, {"Content-Type", "application/json"}});
  REQUIRE(linked.status == 200);
  CHECK(patient_id_for(http, "B-300") == person);  // the held result was replayed to that person
  auto everything = get_json(http, "/fhir/Patient/" + person + "/$everything", kToken);
  CHECK(count_type(everything, "Observation") == 1);
  // The decision is in the audit trail (written within a second).
  bool audited = false;
  for (int i = 0; i < 100 && !audited; ++i) {
    audited = get_json(http, "/api/audit?action=link", kToken)["events"].Size() >= 1;
    if (!audited) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(audited);
  daemon.stop();
}

TEST_CASE("identity: an ADT^A40 (A34, A39) merge moves the prior record's results to the surviving person", "[e2e]") {
  // The merge event and its MRG segment (A39 from a 2.3 sender: prior id in MRG-4 only).
  const auto [event, mrg] = GENERATE(table<std::string, std::string>({
      {"A40", "MRG|TMP-9^^^HOSP_A^MR"}, {"A34", "MRG|TMP-9^^^HOSP_A^MR"}, {"A39", "MRG||||TMP-9^^^HOSP_A^MR"}}));
  CAPTURE(event);
  TempDir dir;
  DaemonProcess daemon(dir.path(), basic_config(dir.path(), kToken));
  daemon.start();
  const uint16_t http = daemon.http_port();
  phrgate::mllp::MllpClient client;
  client.connect("127.0.0.1", daemon.source_port("emr"));
  // A duplicate record created at registration (another MRN, a misspelt name, no phone).
  const std::string dup =
      "MSH|^~\\&|EMR|HOSP_A|PHRGATE|PHR|20261124101500-0500||ADT^A04|M-1|P|2.5.1\rEVN|A04|20261124101500-0500\r"
      "PID|1||TMP-9^^^HOSP_A^MR||Zzyzx^Temporary||20000101|U\r";
  REQUIRE(segment_field(client.send(dup), "MSA", 1) == "AA");
  std::string dup_result = oru("HOSP_A", "M-2", "TMP-9");
  dup_result.replace(dup_result.find("Holloway^Margaret||19610412|F|||12 Elm Street^^Cambridge^MA^02139||^PRN^PH^^^617^5550101"),
                     std::string("Holloway^Margaret||19610412|F|||12 Elm Street^^Cambridge^MA^02139||^PRN^PH^^^617^5550101").size(),
                     "Zzyzx^Temporary||20000101|U");
  REQUIRE(segment_field(client.send(dup_result), "MSA", 1) == "AA");
  REQUIRE(segment_field(client.send(adt("HOSP_A", "M-3", "A-500", "VA-5")), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);
  const std::string temp_person = patient_id_for(http, "TMP-9");
  const std::string real_person = patient_id_for(http, "A-500");
  REQUIRE_FALSE(temp_person.empty());
  REQUIRE(temp_person != real_person);

  const std::string a40 = "MSH|^~\\&|EMR|HOSP_A|PHRGATE|PHR|20261124121500-0500||ADT^" + event + "|M-4|P|2.5.1\rEVN|" +
                          event + "|20261124121500-0500\rPID|1||A-500^^^HOSP_A^MR||Holloway^Margaret||19610412|F\r" +
                          mrg + "\r";
  REQUIRE(segment_field(client.send(a40), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);

  CHECK(patient_id_for(http, "TMP-9") == real_person);  // the prior MRN finds the surviving Patient
  auto everything = get_json(http, "/fhir/Patient/" + real_person + "/$everything", kToken);
  CHECK(count_type(everything, "Patient") == 1);
  CHECK(count_type(everything, "Observation") == 1);  // the result filed under the duplicate moved
  auto gone = http_request("127.0.0.1", http, "GET", "/fhir/Patient/" + temp_person, {},
                           {{"Authorization", "Bearer " + kToken}});
  CHECK(gone.status == 410);
  daemon.stop();
}

TEST_CASE("identity: a patient's claim code links a held record and moves another person's records", "[e2e]") {
  const std::string phr_token = "phr-vendor-token-0123456789";
  TempDir dir;
  std::string config = basic_config(dir.path(), kToken);
  // Every match held for review, and a PHR backend token that may only redeem claim codes.
  config.replace(config.find("\"pipeline\":"), 0, "\"identity\": {\"upper_threshold\": 200},\n  ");
  const std::string admin_token = R"({"name": "test-admin", "role": "admin", "token": ")" + kToken + R"("})";
  config.replace(config.find(admin_token) + admin_token.size(), 0,
                 R"(, {"name": "phr-vendor", "role": "phr", "token": ")" + phr_token + R"("})");
  DaemonProcess daemon(dir.path(), config);
  daemon.start();
  const uint16_t http = daemon.http_port();
  phrgate::mllp::MllpClient client;
  client.connect("127.0.0.1", daemon.source_port("emr"));
  REQUIRE(segment_field(client.send(adt("HOSP_A", "HA-1", "A-200", "VA-1")), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);
  REQUIRE(segment_field(client.send(oru("HOSP_B", "HB-1", "B-300")), "MSA", 1) == "AA");  // held
  std::string other_oru = oru("HOSP_C", "HC-1", "C-400");
  other_oru.replace(other_oru.find("Holloway^Margaret||19610412"), 27, "Quint^Margaret||19991231");
  REQUIRE(segment_field(client.send(other_oru), "MSA", 1) == "AA");  // someone else entirely
  wait_pipeline_idle(http, kToken);
  const std::string person = patient_id_for(http, "A-200");
  const std::string other = patient_id_for(http, "C-400");
  REQUIRE_FALSE(person.empty());
  REQUIRE_FALSE(other.empty());
  REQUIRE(person != other);
  REQUIRE(patient_id_for(http, "B-300").empty());

  auto post = [&](const std::string& target, const std::string& body, const std::string& token) {
    return http_request("127.0.0.1", http, "POST", target, body,
                        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  };
  auto claim = [&](const std::string& facility, const std::string& mrn) {
    auto r = post("/api/identity/claims",
                  R"({"system":"urn:phrgate:assigner:)" + facility + R"(","value":")" + mrn + "\"}", kToken);
    REQUIRE(r.status == 201);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    return std::string(d["code"].GetString());
  };
  auto redeem_body = [&](const std::string& code) {
    return R"({"code":")" + code + R"(","person_id":")" + person + "\"}";
  };
  const std::string held_code = claim("HOSP_B", "B-300");
  CHECK(post("/api/identity/claims", R"({"system":"x","value":"y"})", phr_token).status == 403);  // phr cannot issue
  REQUIRE(post("/api/identity/claims/redeem", redeem_body(held_code), phr_token).status == 200);
  wait_pipeline_idle(http, kToken);
  CHECK(patient_id_for(http, "B-300") == person);
  auto everything = get_json(http, "/fhir/Patient/" + person + "/$everything", kToken);
  CHECK(count_type(everything, "Observation") == 1);  // the held result was released to the person
  CHECK(post("/api/identity/claims/redeem", redeem_body(held_code), phr_token).status == 400);  // single use

  const std::string moved_code = claim("HOSP_C", "C-400");
  REQUIRE(post("/api/identity/claims/redeem", redeem_body(moved_code), phr_token).status == 200);
  wait_pipeline_idle(http, kToken);
  CHECK(patient_id_for(http, "C-400") == person);
  everything = get_json(http, "/fhir/Patient/" + person + "/$everything", kToken);
  CHECK(count_type(everything, "Observation") == 2);  // the other person's result moved here

  bool audited = false;
  for (int i = 0; i < 100 && !audited; ++i) {
    auto a = get_json(http, "/api/audit?action=claim_issue", kToken);
    audited = a["events"].Size() == 2;
    if (!audited) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(audited);
  daemon.stop();
}
