// The phr_fhir sink against the Node FHIR test server on 127.0.0.1: delivery of several
// persons' Bundles read back from the server (client credentials auth), retries after 503s
// without duplicates, the server killed and restarted (and the sink itself restarted on the
// same outbox) without loss or duplicates, dead letters for 4xx while others flow, per-person
// ordering. Skipped (with a warning) when node/npm is unavailable.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <thread>

#include "adapters/phr_fhir/phr_fhir_sink.h"
#include "gateway/core/metrics.h"
#include "tests/adapters/phr_fhir/phr_fhir_test_support.h"
#include "tests/support/fhir_test_server/fhir_test_server.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::phr_fhir;
using testing::FhirTestServer;
using testing::FhirTestServerOptions;

namespace {

#define SKIP_WITHOUT_SERVER()                                       \
  if (!FhirTestServer::available()) {                               \
    WARN("skipped: node/npm or the npm registry is not available"); \
    return;                                                         \
  }

PhrFhirOptions sink_options(const FhirTestServer& server, const std::string& outbox) {
  PhrFhirOptions o;
  o.client.base_url = server.base_url();
  o.client.connect_timeout = std::chrono::milliseconds(1000);
  o.client.request_timeout = std::chrono::milliseconds(5000);
  o.outbox_path = outbox;
  o.backoff_base = std::chrono::milliseconds(20);
  o.backoff_cap = std::chrono::milliseconds(200);
  o.parallel_persons = 3;
  return o;
}

int64_t counter(const pipeline::SinkStatus& s, const std::string& name) {
  for (const auto& [k, v] : s.counters)
    if (k == name) return v;
  FAIL("no counter " << name);
  return -1;
}

// A searchset read back from the server.
rapidjson::Document search(fhir_client::FhirHttpClient& reader, const std::string& query) {
  auto r = reader.get(query);
  REQUIRE(r.status == 200);
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  REQUIRE(!doc.HasParseError());
  return doc;
}

void deliver_all(PhrFhirSink& sink, const testing::DeliveryBatch& batch) {
  auto outcomes = sink.deliver(batch.deliveries());
  REQUIRE(outcomes.size() == batch.deliveries().size());
  for (const auto& o : outcomes) REQUIRE(o.status == pipeline::DeliveryStatus::Delivered);
}

}  // namespace

TEST_CASE("persons' records reach the server, linked, with client credentials", "[phr_fhir][adapter]") {
  SKIP_WITHOUT_SERVER();
  testing::TempDir dir;
  FhirTestServerOptions so;
  so.require_auth = true;
  so.clients = {{"gw", "secret-1"}};
  FhirTestServer server(so);
  server.start();
  metrics::Registry metrics;
  auto o = sink_options(server, dir.file("outbox.db"));
  o.client.auth.kind = fhir_client::AuthKind::ClientCredentials;
  o.client.auth.token_url = server.token_url();
  o.client.auth.client_id = "gw";
  o.client.auth.client_secret = "secret-1";
  PhrFhirSink sink("ext", o, nullptr, metrics);

  testing::DeliveryBatch batch;
  for (std::string mrn : {"A", "B", "C"}) {
    batch.add("MSG-" + mrn + "1", mrn, {testing::patient_resource(mrn), testing::observation_resource(mrn, "1"),
                                        testing::condition_resource(mrn, "1")});
    batch.add("MSG-" + mrn + "2", mrn, {testing::patient_resource(mrn), testing::observation_resource(mrn, "2")});
  }
  deliver_all(sink, batch);
  REQUIRE(sink.wait_drained(std::chrono::seconds(30)));
  CHECK(server.count("Patient") == 3);
  CHECK(server.count("Observation") == 6);
  CHECK(server.count("Condition") == 3);
  auto status = sink.status();
  CHECK(counter(status, "confirmed") == 6);
  CHECK(counter(status, "queued") == 0);
  CHECK(counter(status, "tokens_fetched") == 1);
  CHECK(metrics.render().find("phrgate_phr_fhir_queue_depth{sink=\"ext\"} 0") != std::string::npos);

  // The Observation's subject points at the server's Patient carrying the MRN.
  fhir_client::FhirHttpClient reader(o.client);
  auto obs = search(reader, "Observation?identifier=urn:test:obs|B-2");
  REQUIRE(obs["entry"].Size() == 1);
  std::string subject = obs["entry"][0]["resource"]["subject"]["reference"].GetString();
  auto pat = search(reader, subject.substr(0, subject.find('/')) + "?_id=" + subject.substr(subject.find('/') + 1));
  REQUIRE(pat["entry"].Size() == 1);
  CHECK(std::string(pat["entry"][0]["resource"]["identifier"][0]["value"].GetString()) == "B");
}

TEST_CASE("503s with Retry-After are retried without duplicating anything", "[phr_fhir][fault]") {
  SKIP_WITHOUT_SERVER();
  testing::TempDir dir;
  FhirTestServer server(FhirTestServerOptions{});
  server.start();
  metrics::Registry metrics;
  PhrFhirSink sink("ext", sink_options(server, dir.file("outbox.db")), nullptr, metrics);
  server.set_faults(R"({"fail_next":3,"fail_status":503,"retry_after":0})");
  testing::DeliveryBatch batch;
  batch.add("M1", "A", {testing::patient_resource("A"), testing::observation_resource("A", "1")});
  batch.add("M2", "B", {testing::patient_resource("B"), testing::observation_resource("B", "1")});
  deliver_all(sink, batch);
  REQUIRE(sink.wait_drained(std::chrono::seconds(30)));
  auto status = sink.status();
  CHECK(counter(status, "retries") == 3);
  CHECK(counter(status, "attempts") == 5);
  CHECK(counter(status, "confirmed") == 2);
  CHECK(server.count("Patient") == 2);
  CHECK(server.count("Observation") == 2);

  // Delivering the same messages again (a replay) changes nothing on the server.
  deliver_all(sink, batch);
  REQUIRE(sink.wait_drained(std::chrono::seconds(30)));
  CHECK(server.count("Patient") == 2);
  CHECK(server.count("Observation") == 2);
}

TEST_CASE("server down, sink restarted, server back: nothing lost, nothing duplicated", "[phr_fhir][fault]") {
  SKIP_WITHOUT_SERVER();
  testing::TempDir dir;
  FhirTestServerOptions so;
  so.data_file = dir.file("server-data.json");
  FhirTestServer server(so);
  server.start();
  metrics::Registry metrics;
  auto options = sink_options(server, dir.file("outbox.db"));
  testing::DeliveryBatch first, second;
  for (std::string mrn : {"A", "B", "C", "D"}) {
    first.add("F-" + mrn, mrn, {testing::patient_resource(mrn), testing::observation_resource(mrn, "1")});
    second.add("S-" + mrn, mrn, {testing::patient_resource(mrn), testing::observation_resource(mrn, "2"),
                                 testing::condition_resource(mrn, "2")});
  }
  {
    PhrFhirSink sink("ext", options, nullptr, metrics);
    deliver_all(sink, first);
    REQUIRE(sink.wait_drained(std::chrono::seconds(30)));
    server.stop(true);  // crash
    deliver_all(sink, second);
    // The sink keeps retrying with backoff while the server is down.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (counter(sink.status(), "retries") < 8 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto status = sink.status();
    CHECK(counter(status, "retries") >= 8);
    CHECK(counter(status, "queued") == 4);
    CHECK(counter(status, "dead_letters") == 0);
    CHECK(metrics.render().find("phrgate_phr_fhir_queue_depth{sink=\"ext\"} 4") != std::string::npos);
  }  // the gateway stops too: the outbox keeps the Bundles
  server.start();  // same port, data restored from its file
  CHECK(server.count("Observation") == 4);
  metrics::Registry metrics2;
  PhrFhirSink restarted("ext", options, nullptr, metrics2);
  CHECK(restarted.outbox_counts().pending == 4);
  REQUIRE(restarted.wait_drained(std::chrono::seconds(30)));
  CHECK(server.count("Patient") == 4);
  CHECK(server.count("Observation") == 8);
  CHECK(server.count("Condition") == 4);
}

TEST_CASE("a rejected Bundle is dead-lettered while other records keep flowing", "[phr_fhir][fault]") {
  SKIP_WITHOUT_SERVER();
  testing::TempDir dir;
  FhirTestServer server(FhirTestServerOptions{});
  server.start();
  server.set_faults(R"({"reject_type":"Condition","reject_status":422})");
  metrics::Registry metrics;
  auto options = sink_options(server, dir.file("outbox.db"));
  options.parallel_persons = 1;
  PhrFhirSink sink("ext", options, nullptr, metrics);
  testing::DeliveryBatch batch;
  batch.add("BAD-1", "A", {testing::patient_resource("A"), testing::condition_resource("A", "1")});
  batch.add("OK-A2", "A", {testing::patient_resource("A"), testing::observation_resource("A", "2")});
  batch.add("OK-B1", "B", {testing::patient_resource("B"), testing::observation_resource("B", "1")});
  deliver_all(sink, batch);
  REQUIRE(sink.wait_drained(std::chrono::seconds(30)));
  auto dead = sink.dead_letters();
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].control_id == "BAD-1");
  CHECK(dead[0].error == "HTTP 422 (processing)");
  CHECK(dead[0].attempts == 1);
  CHECK(counter(sink.status(), "dead_letters") == 1);
  CHECK(server.count("Condition") == 0);
  CHECK(server.count("Observation") == 2);
  CHECK(metrics.render().find("phrgate_phr_fhir_dead_letters_total{sink=\"ext\"} 1") != std::string::npos);
}

TEST_CASE("one person's Bundles arrive in order while persons run in parallel", "[phr_fhir][fault]") {
  SKIP_WITHOUT_SERVER();
  testing::TempDir dir;
  FhirTestServer server(FhirTestServerOptions{});
  server.start();
  metrics::Registry metrics;
  auto options = sink_options(server, dir.file("outbox.db"));
  options.parallel_persons = 4;
  PhrFhirSink sink("ext", options, nullptr, metrics);
  server.set_faults(R"({"fail_next":5,"fail_status":503})");  // interleave retries
  testing::DeliveryBatch batch;
  const int kMessages = 6;
  for (int i = 1; i <= kMessages; ++i)
    for (std::string mrn : {"A", "B", "C"})
      batch.add(mrn + std::to_string(i), mrn,
                {testing::patient_resource(mrn, "V" + std::to_string(i)),
                 testing::observation_resource(mrn, "1", std::to_string(i)),
                 testing::observation_resource(mrn, "n" + std::to_string(i))});
  deliver_all(sink, batch);
  REQUIRE(sink.wait_drained(std::chrono::seconds(60)));
  CHECK(server.count("Observation") == 3 * (kMessages + 1));
  CHECK(server.count("Patient") == 3);
  // The server saw each person's messages in the order they were delivered.
  for (std::string mrn : {"A", "B", "C"}) {
    std::vector<int> order;
    for (const auto& tx : server.transaction_log())
      for (const auto& e : tx) {
        std::string prefix = "PUT Observation?identifier=urn:test:obs|" + mrn + "-n";
        if (e.rfind(prefix, 0) == 0) order.push_back(std::stoi(e.substr(prefix.size())));
      }
    std::vector<int> expected;
    for (int i = 1; i <= kMessages; ++i) expected.push_back(i);
    CHECK(order == expected);
  }
  // The last update wins.
  fhir_client::FhirHttpClient reader(options.client);
  auto r = reader.get("Observation?identifier=urn:test:obs|B-1");
  CHECK(r.body.find("\"valueString\":\"" + std::to_string(kMessages) + "\"") != std::string::npos);
}

TEST_CASE("stopping the sink cancels a stalled send and keeps its Bundle", "[phr_fhir][fault]") {
  SKIP_WITHOUT_SERVER();
  testing::TempDir dir;
  FhirTestServer server(FhirTestServerOptions{});
  server.start();
  server.set_faults(R"({"delay_ms":30000})");
  auto options = sink_options(server, dir.file("outbox.db"));
  options.client.request_timeout = std::chrono::milliseconds(60000);
  {
    metrics::Registry metrics;
    PhrFhirSink sink("ext", options, nullptr, metrics);
    testing::DeliveryBatch batch;
    batch.add("M1", "A", {testing::patient_resource("A")});
    deliver_all(sink, batch);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (counter(sink.status(), "in_flight") == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(counter(sink.status(), "in_flight") == 1);
  }  // without the cancel this would wait for the server's 30 s delay
  FhirOutbox outbox(dir.file("outbox.db"));
  CHECK(outbox.counts().pending == 1);
  server.set_faults(R"({"delay_ms":0})");
  metrics::Registry metrics;
  PhrFhirSink again("ext", options, nullptr, metrics);
  REQUIRE(again.wait_drained(std::chrono::seconds(30)));
  CHECK(server.count("Patient") == 1);
}
