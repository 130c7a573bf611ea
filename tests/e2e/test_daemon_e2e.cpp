// End-to-end: the real phrgate binary on 127.0.0.1. An EMR sends HL7 v2 over MLLP; the test
// checks each ACK, then reads the records back through the FHIR API, checks the operator
// endpoints, the error paths (AR/AE with ERR, 401) and a graceful SIGTERM + restart.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "adapters/common/mllp/mllp_client.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;

namespace {
const std::string kToken = "e2e-secret-token-0123456789";

std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(PHRGATE_SOURCE_DIR) + "/deploy/samples/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return to_cr(ss.str());
}

int count_type(const rapidjson::Value& bundle, const char* type) {
  int n = 0;
  if (!bundle.HasMember("entry")) return 0;
  for (const auto& e : bundle["entry"].GetArray())
    if (std::string(e["resource"]["resourceType"].GetString()) == type) ++n;
  return n;
}
}  // namespace

TEST_CASE("daemon: HL7 v2 over MLLP to the PHR store and back through the FHIR API", "[e2e]") {
  TempDir dir;
  DaemonProcess daemon(dir.path(), basic_config(dir.path(), kToken));
  daemon.start();
  const uint16_t http = daemon.http_port();

  phrgate::mllp::MllpClient client;
  client.connect("127.0.0.1", daemon.source_port("emr"));

  SECTION("AA acknowledgements echo MSH-10 and swap sender and receiver") {
    std::string adt = read_sample("01-adt-a01-admit.hl7");
    std::string ack = client.send(adt);
    CHECK(segment_field(ack, "MSA", 1) == "AA");
    CHECK(segment_field(ack, "MSA", 2) == "DEMO-ADT-0001");
    // MSH-3/4 of the ACK are MSH-5/6 of the message and vice versa (MSH fields are shifted by one).
    CHECK(segment_field(ack, "MSH", 2) == "PHRGATE");
    CHECK(segment_field(ack, "MSH", 3) == "PHR");
    CHECK(segment_field(ack, "MSH", 4) == "DEMO_EMR");
    CHECK(segment_field(ack, "MSH", 5) == "RIVERSIDE_GENERAL");
    CHECK(segment_field(client.send(read_sample("02-oru-r01-cbc.hl7")), "MSA", 1) == "AA");
    wait_pipeline_idle(http, kToken);

    auto found = get_json(http, "/fhir/Patient?identifier=RG-100234", kToken);
    REQUIRE(found["total"].GetInt() == 1);
    const auto& patient = found["entry"][0]["resource"];
    CHECK(std::string(patient["gender"].GetString()) == "female");
    CHECK(std::string(patient["birthDate"].GetString()) == "1984-03-12");
    // The lab result's minimal PID did not wipe the address and telecom from the admission.
    CHECK(std::string(patient["address"][0]["postalCode"].GetString()) == "62704");
    CHECK(std::string(patient["meta"]["versionId"].GetString()) == "1");
    std::string pid = patient["id"].GetString();

    auto obs = get_json(http, "/fhir/Observation?patient=" + pid, kToken);
    CHECK(obs["total"].GetInt() == 4);
    auto everything = get_json(http, "/fhir/Patient/" + pid + "/$everything?_count=1000", kToken);
    CHECK(count_type(everything, "Patient") == 1);
    CHECK(count_type(everything, "Observation") == 4);
    CHECK(count_type(everything, "DiagnosticReport") == 1);
    CHECK(count_type(everything, "Encounter") >= 1);
    CHECK(count_type(everything, "Provenance") == 2);

    SECTION("a repeated MSH-10 is answered AA and not processed twice") {
      std::string again = client.send(read_sample("02-oru-r01-cbc.hl7"));
      CHECK(segment_field(again, "MSA", 1) == "AA");
      wait_pipeline_idle(http, kToken);
      auto queues = get_json(http, "/api/queues", kToken);
      CHECK(queues["sources"][0]["duplicates"].GetInt64() == 1);
      CHECK(queues["inbox"]["done"].GetInt64() == 2);
      auto obs2 = get_json(http, "/fhir/Observation?patient=" + pid, kToken);
      CHECK(obs2["total"].GetInt() == 4);
    }
    SECTION("an A08 update changes the patient in place and keeps one Patient") {
      CHECK(segment_field(client.send(read_sample("03-adt-a08-update.hl7")), "MSA", 1) == "AA");
      wait_pipeline_idle(http, kToken);
      auto p = get_json(http, "/fhir/Patient/" + pid, kToken);
      CHECK(std::string(p["address"][0]["postalCode"].GetString()) == "62711");
      // Version 1 from the A01; the ORU's sparse PID did not overwrite it; the A08 made version 2.
      CHECK(std::string(p["meta"]["versionId"].GetString()) == "2");
      CHECK(p["telecom"].Size() >= 1);
      CHECK(get_json(http, "/fhir/Patient?identifier=RG-100234", kToken)["total"].GetInt() == 1);
    }
  }

  SECTION("bad input gets a clear NAK with ERR and is kept for an operator") {
    std::string ack = client.send("this is not HL7 at all");
    CHECK(segment_field(ack, "MSA", 1) == "AR");
    CHECK(ack.find("ERR|") != std::string::npos);

    std::string bar = to_cr("MSH|^~\\&|BILLING|TEST_HOSP|PHRGATE|PHR|20261124||BAR^P01|BAR-1|P|2.5.1\nEVN|P01\n");
    std::string ack2 = client.send(bar);
    CHECK(segment_field(ack2, "MSA", 1) == "AR");
    CHECK(segment_field(ack2, "MSA", 2) == "BAR-1");
    CHECK(ack2.find("^HL70357") != std::string::npos);

    std::string no_pid = to_cr("MSH|^~\\&|EMR|TEST_HOSP|PHRGATE|PHR|20261124||ADT^A01|NOPID-1|P|2.5.1\nEVN|A01\n");
    std::string ack3 = client.send(no_pid);
    CHECK(segment_field(ack3, "MSA", 1) == "AE");

    auto queues = get_json(http, "/api/queues", kToken);
    CHECK(queues["inbox"]["rejected"].GetInt64() == 3);
    CHECK(queues["sources"][0]["rejected"].GetInt64() == 3);
    CHECK(daemon.running());
    // The log names control ids, never patient data.
    CHECK(daemon.log_text().find("BAR-1") != std::string::npos);
  }

  SECTION("the FHIR API requires a bearer token and answers errors with OperationOutcome") {
    auto r = http_request("127.0.0.1", http, "GET", "/fhir/Patient?identifier=X");
    CHECK(r.status == 401);
    CHECK(r.body.find("OperationOutcome") != std::string::npos);
    auto wrong = http_request("127.0.0.1", http, "GET", "/fhir/Patient?identifier=X", {},
                              {{"Authorization", "Bearer not-the-token-at-all"}});
    CHECK(wrong.status == 401);
    auto missing = http_request("127.0.0.1", http, "GET", "/fhir/Patient/does-not-exist", {},
                                {{"Authorization", "Bearer " + kToken}});
    CHECK(missing.status == 404);
    CHECK(missing.body.find("OperationOutcome") != std::string::npos);
    auto meta = http_request("127.0.0.1", http, "GET", "/fhir/metadata");
    CHECK(meta.status == 200);
    CHECK(meta.body.find("CapabilityStatement") != std::string::npos);
  }

  SECTION("health and metrics") {
    client.send(read_sample("01-adt-a01-admit.hl7"));
    auto h = http_request("127.0.0.1", http, "GET", "/healthz");
    CHECK(h.status == 200);
    auto m = http_request("127.0.0.1", http, "GET", "/metrics");
    CHECK(m.status == 200);
    CHECK(m.body.find("phrgate_messages_received_total{source=\"emr\"} 1") != std::string::npos);
    CHECK(m.body.find("phrgate_messages_acknowledged_total{source=\"emr\"} 1") != std::string::npos);
    CHECK(m.body.find("phrgate_inbox_depth") != std::string::npos);
    CHECK(m.body.find("phrgate_inbox_oldest_pending_age_seconds") != std::string::npos);
    CHECK(m.body.find("phrgate_conversion_seconds_bucket") != std::string::npos);
    CHECK(m.body.find("phrgate_commit_seconds_bucket") != std::string::npos);
  }

  client.close();
  // Logs name control ids and sources, never the patient: no name, MRN or birth date.
  const std::string log = daemon.log_text();
  CHECK(log.find("Okafor") == std::string::npos);
  CHECK(log.find("RG-100234") == std::string::npos);
  CHECK(log.find("19840312") == std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(daemon.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
}

TEST_CASE("daemon: SIGTERM exits 0 and a restart keeps the records and resumes", "[e2e]") {
  TempDir dir;
  DaemonProcess daemon(dir.path(), basic_config(dir.path(), kToken));
  daemon.start();
  {
    phrgate::mllp::MllpClient client;
    client.connect("127.0.0.1", daemon.source_port("emr"));
    for (int i = 0; i < 20; ++i)
      REQUIRE(segment_field(client.send(oru_message("R-" + std::to_string(i), "MRN-7", "F" + std::to_string(i), "101")), "MSA", 1) == "AA");
  }
  REQUIRE(daemon.stop() == 0);
  daemon.start();
  wait_pipeline_idle(daemon.http_port(), kToken);
  auto p = get_json(daemon.http_port(), "/fhir/Patient?identifier=MRN-7", kToken);
  REQUIRE(p["total"].GetInt() == 1);
  std::string pid = p["entry"][0]["resource"]["id"].GetString();
  auto obs = get_json(daemon.http_port(), "/fhir/Observation?patient=" + pid + "&_count=100", kToken);
  CHECK(obs["total"].GetInt() == 20);
  CHECK(daemon.stop() == 0);
}
