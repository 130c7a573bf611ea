// End to end: the real phrgate daemon with a phr_store sink AND a phr_fhir sink (client
// credentials, the secret given as ${ENV}) pointing at the Node FHIR test server; HL7 v2 over
// MLLP goes in, the external server ends up with the Patient and the lab results, and
// /api/queues shows the sink's counters. Skipped when node/npm is unavailable.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "adapters/common/fhir_client/fhir_http_client.h"
#include "adapters/common/mllp/mllp_client.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/fhir_test_server/fhir_test_server.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;

namespace {

const std::string kToken = "e2e-admin-token-0123456789";

std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(PHRGATE_SOURCE_DIR) + "/deploy/samples/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return to_cr(ss.str());
}

std::string config(const std::string& dir, const FhirTestServer& server) {
  return R"({
  "data_dir": ")" + dir + R"(/data",
  "log": {"level": "info"},
  "http": {"listen": "127.0.0.1", "port": 0,
           "tokens": [{"name": "test-admin", "role": "admin", "token": ")" + kToken + R"("}]},
  "inbox": {"max_delay_us": 500},
  "pipeline": {"retry_delay_ms": 100},
  "sources": [{"name": "emr", "type": "hl7v2_mllp", "listen": "127.0.0.1", "port": 0}],
  "sinks": [{"name": "phr", "type": "phr_store"},
            {"name": "ext", "type": "phr_fhir", "url": ")" + server.base_url() + R"(",
             "outbox_path": ")" + dir + R"(/ext-outbox.db",
             "backoff": {"base_ms": 20, "cap_ms": 200},
             "auth": {"kind": "client_credentials", "token_url": ")" + server.token_url() + R"(",
                      "client_id": "phrgate", "client_secret": "${PHRGATE_E2E_PHR_SECRET}"}}]
})";
}

}  // namespace

TEST_CASE("daemon: HL7 v2 in, the external PHR gets the Patient and results", "[phr_fhir][e2e]") {
  if (!FhirTestServer::available()) {
    WARN("skipped: node/npm or the npm registry is not available");
    return;
  }
  TempDir dir;
  FhirTestServerOptions so;
  so.require_auth = true;
  so.clients = {{"phrgate", "e2e-secret-value"}};
  FhirTestServer server(so);
  server.start();
  ::setenv("PHRGATE_E2E_PHR_SECRET", "e2e-secret-value", 1);
  DaemonProcess daemon(dir.path(), config(dir.path(), server));
  daemon.start();

  phrgate::mllp::MllpClient client;
  client.connect("127.0.0.1", daemon.source_port("emr"));
  CHECK(segment_field(client.send(read_sample("01-adt-a01-admit.hl7")), "MSA", 1) == "AA");
  CHECK(segment_field(client.send(read_sample("02-oru-r01-cbc.hl7")), "MSA", 1) == "AA");
  wait_pipeline_idle(daemon.http_port(), kToken);

  // The sink drains its outbox in the background.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t queued = -1, confirmed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto q = get_json(daemon.http_port(), "/api/queues", kToken);
    for (const auto& s : q["sinks"].GetArray())
      if (std::string(s["name"].GetString()) == "ext") {
        queued = s["queued"].GetInt64();
        confirmed = s["confirmed"].GetInt64();
      }
    if (queued == 0 && confirmed >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(queued == 0);
  CHECK(confirmed == 2);

  phrgate::fhir_client::ClientOptions o{server.base_url()};
  o.auth.kind = phrgate::fhir_client::AuthKind::ClientCredentials;
  o.auth.token_url = server.token_url();
  o.auth.client_id = "phrgate";
  o.auth.client_secret = "e2e-secret-value";
  phrgate::fhir_client::FhirHttpClient reader(o);
  auto patients = reader.get("Patient?identifier=RG-100234");
  REQUIRE(patients.status == 200);
  CHECK(patients.body.find("\"total\":1") != std::string::npos);
  CHECK(server.count("Patient") == 1);
  CHECK(server.count("Observation") == 4);
  CHECK(server.count("DiagnosticReport") == 1);
  CHECK(daemon.stop() == 0);
}
