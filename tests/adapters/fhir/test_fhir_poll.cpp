// Adapter tests for the fhir_poll source against the Node FHIR test server
// (tests/support/fhir_test_server, @medplum/fhir-router): incremental polling across a
// restart with no gaps and no duplicates, paging through next links, 503 + Retry-After
// backoff, and config errors. Skipped with a warning when node/npm are missing. Prints
// name=value figures (resources polled and converted per second).
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "adapters/fhir/fhir_poll_source.h"
#include "adapters/fhir/fhir_to_phr.h"
#include "gateway/core/metrics.h"
#include "gateway/core/resource_id.h"
#include "gateway/queue/inbox.h"
#include "tests/support/fhir_test_server/fhir_test_server.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using phrgate::testing::FhirTestServer;
using fhir::FhirPollConfig;

namespace {

std::string patient_entry(const std::string& uuid, const std::string& mrn) {
  return R"({"fullUrl":"urn:uuid:)" + uuid + R"(","resource":{"resourceType":"Patient","identifier":[)"
         R"({"system":"http://hospital.example.org/mrn","value":")" + mrn + R"("}]},"request":{"method":"POST","url":"Patient"}})";
}

std::string observation_entry(const std::string& patient_ref, int n) {
  return R"({"resource":{"resourceType":"Observation","status":"final","code":{"text":"obs )" + std::to_string(n) +
         R"("},"subject":{"reference":")" + patient_ref + R"("},"valueQuantity":{"value":)" + std::to_string(n) +
         R"(.50}},"request":{"method":"POST","url":"Observation"}})";
}

// Posts a transaction; returns the server's response body.
std::string post_transaction(fhir_client::FhirHttpClient& c, const std::string& entries) {
  auto r = c.post_bundle(R"({"resourceType":"Bundle","type":"transaction","entry":[)" + entries + "]}");
  INFO(r.status << " " << r.error);
  REQUIRE(r.ok());
  return r.body;
}

std::string patient_id_by_mrn(fhir_client::FhirHttpClient& c, const std::string& mrn) {
  auto r = c.get("Patient?identifier=http://hospital.example.org/mrn%7C" + mrn);
  REQUIRE(r.ok());
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  REQUIRE(d["entry"].Size() == 1);
  return d["entry"][0]["resource"]["id"].GetString();
}

struct PollFixture {
  phrgate::testing::TempDir dir{"phrgate-fhir-poll-"};
  std::unique_ptr<FhirTestServer> server;
  std::unique_ptr<queue::Inbox> inbox;
  boost::asio::io_context io;
  metrics::Registry metrics;
  pipeline::SourceDeps deps{io, *open_inbox(), metrics, {}};

  queue::Inbox* open_inbox() {
    queue::SqliteInboxOptions o;
    o.path = dir.file("inbox.db");
    inbox = queue::open_sqlite_inbox(o);
    return inbox.get();
  }

  FhirPollConfig config(int page_size = 2) {
    FhirPollConfig c;
    c.name = "emr-poll";
    c.client.base_url = server->base_url();
    c.resource_types = {"Patient", "Observation", "Condition"};
    c.patients = {{"", "http://hospital.example.org/mrn|M-1"}};
    c.state_path = dir.file("poll-state.db");
    c.page_size = page_size;
    c.backoff_initial = std::chrono::milliseconds(20);
    c.backoff_max = std::chrono::milliseconds(200);
    return c;
  }

  std::vector<queue::InboxRow> rows() {
    inbox->flush();
    std::vector<queue::InboxRow> out;
    for (int64_t id = 1; id < 1000; ++id)
      if (auto r = inbox->get(id)) out.push_back(*r);
    return out;
  }
};

// Converts every row; counts resources of each type by their original server id.
std::map<std::string, int> convert_rows(const std::vector<queue::InboxRow>& rows, std::string& person) {
  std::map<std::string, int> seen;
  for (const auto& row : rows) {
    REQUIRE(row.content_type == "application/fhir+json");
    rapidjson::Document d;
    d.Parse(row.payload.c_str());
    REQUIRE(!d.HasParseError());
    for (const auto& e : d["entry"].GetArray()) {
      if (e.HasMember("search") && std::string(e["search"]["mode"].GetString()) == "include") continue;
      ++seen[std::string(e["resource"]["resourceType"].GetString()) + "/" + e["resource"]["id"].GetString()];
    }
    pipeline::ConvertInput in;
    in.payload = row.payload;
    in.source = row.source;
    auto out = fhir::convert_fhir(in);
    REQUIRE(out.size() == 1);
    INFO(out[0].error);
    REQUIRE(out[0].ok);
    if (person.empty()) person = out[0].person_id;
    CHECK(out[0].person_id == person);
  }
  return seen;
}

}  // namespace

TEST_CASE("fhir_poll: incremental polls across a restart have no gaps and no duplicates", "[fhir][poll]") {
  if (!FhirTestServer::available()) {
    WARN("node/npm unavailable: fhir_poll server tests skipped");
    return;
  }
  PollFixture f;
  f.server = std::make_unique<FhirTestServer>(phrgate::testing::FhirTestServerOptions{});
  f.server->start();
  fhir_client::ClientOptions co;
  co.base_url = f.server->base_url();
  fhir_client::FhirHttpClient seed(co);
  std::string entries = patient_entry("7d0f0e55-0000-4000-8000-000000000001", "M-1");
  for (int i = 1; i <= 3; ++i) entries += "," + observation_entry("urn:uuid:7d0f0e55-0000-4000-8000-000000000001", i);
  entries += "," + patient_entry("7d0f0e55-0000-4000-8000-000000000002", "OTHER");
  entries += "," + observation_entry("urn:uuid:7d0f0e55-0000-4000-8000-000000000002", 99);
  post_transaction(seed, entries);
  const std::string pid = patient_id_by_mrn(seed, "M-1");

  const auto t0 = std::chrono::steady_clock::now();
  {
    fhir::FhirPollSource source(f.config(), f.deps);
    REQUIRE(source.poll_once());
    auto st = source.status();
    std::map<std::string, int64_t> c(st.counters.begin(), st.counters.end());
    CHECK(c["pages"] >= 4);  // Patient, Observation x2 (page size 2 over 3), Condition
    CHECK(c["resources"] == 4);
    // Polling again finds nothing new (the mark's boundary skips what was committed).
    REQUIRE(source.poll_once());
  }
  auto rows = f.rows();
  CHECK(rows.size() == 3);  // Patient page, two Observation pages
  std::string person;
  auto seen = convert_rows(rows, person);
  CHECK(seen.size() == 4);
  for (const auto& [key, n] : seen) CHECK(n == 1);
  CHECK(seen.count("Patient/" + pid) == 1);
  const double polled_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // New data while the gateway is down; a new source on the same state file ("restart").
  std::string more;
  for (int i = 4; i <= 5; ++i) more += (more.empty() ? "" : ",") + observation_entry("Patient/" + pid, i);
  post_transaction(seed, more);
  {
    fhir::FhirPollSource source(f.config(), f.deps);
    REQUIRE(source.poll_once());
    REQUIRE(source.poll_once());
  }
  rows = f.rows();
  CHECK(rows.size() >= 4);  // the new Observations on one or two pages (the boundary one is skipped)
  CHECK(rows.size() <= 5);
  seen = convert_rows(rows, person);
  CHECK(seen.size() == 6);  // Patient + 5 Observations, each exactly once; the other patient's never
  for (const auto& [key, n] : seen) CHECK(n == 1);
  std::printf("fhir_poll_resources=%zu\nfhir_poll_first_poll_resources_per_s=%.0f\n", seen.size(),
              polled_s > 0 ? 4.0 / polled_s : 0.0);
}

TEST_CASE("fhir_poll: 503 with Retry-After is retried with backoff", "[fhir][poll]") {
  if (!FhirTestServer::available()) {
    WARN("node/npm unavailable: fhir_poll server tests skipped");
    return;
  }
  PollFixture f;
  f.server = std::make_unique<FhirTestServer>(phrgate::testing::FhirTestServerOptions{});
  f.server->start();
  fhir_client::ClientOptions co;
  co.base_url = f.server->base_url();
  fhir_client::FhirHttpClient seed(co);
  post_transaction(seed, patient_entry("7d0f0e55-0000-4000-8000-000000000003", "M-1") + "," +
                             observation_entry("urn:uuid:7d0f0e55-0000-4000-8000-000000000003", 1));
  f.server->set_faults(R"({"fail_next":2,"fail_status":503,"retry_after":1})");
  fhir::FhirPollSource source(f.config(10), f.deps);
  REQUIRE(source.poll_once());
  auto st = source.status();
  std::map<std::string, int64_t> c(st.counters.begin(), st.counters.end());
  CHECK(c["backoffs"] == 2);
  CHECK(c["resources"] == 2);
  CHECK(f.rows().size() == 2);

  // Failing longer than max_attempts gives the search up without moving the mark: the next
  // poll fetches it again.
  post_transaction(seed, observation_entry("Patient/" + patient_id_by_mrn(seed, "M-1"), 2));
  f.server->set_faults(R"({"fail_next":100,"fail_status":503,"retry_after":null})");
  FhirPollConfig cfg = f.config(10);
  cfg.max_attempts = 2;
  fhir::FhirPollSource failing(cfg, f.deps);
  CHECK_FALSE(failing.poll_once());
  CHECK(f.rows().size() == 2);
  f.server->set_faults(R"({"fail_next":0})");
  REQUIRE(failing.poll_once());
  CHECK(f.rows().size() == 3);
}

TEST_CASE("fhir_poll: config errors name their JSON path", "[fhir][poll]") {
  auto parse = [](const char* json) {
    config::AdapterConfig cfg;
    cfg.name = "p";
    cfg.type = "fhir_poll";
    cfg.path = "$.sources[0]";
    cfg.options = std::make_shared<rapidjson::Document>();
    cfg.options->Parse(json);
    return fhir::parse_fhir_poll_config(cfg);
  };
  CHECK_NOTHROW(parse(R"({"base_url":"https://x/fhir/","resource_types":["Observation"],"group":"g1","state_path":"/tmp/s.db"})"));
  CHECK(parse(R"({"base_url":"https://x/fhir/","resource_types":["Observation"],"group":"g1","state_path":"/s"})")
            .client.base_url == "https://x/fhir");
  CHECK_THROWS_WITH(parse(R"({"base_url":"https://x","resource_types":["Obs"],"group":"g","state_path":"/s"})"),
                    Catch::Contains("$.sources[0].resource_types[0]"));
  CHECK_THROWS_WITH(parse(R"({"base_url":"https://x","resource_types":["Observation"],"state_path":"/s"})"),
                    Catch::Contains("give patients or group"));
  CHECK_THROWS_WITH(parse(R"({"base_url":"https://x","resource_types":["Observation"],"state_path":"/s",
                             "patients":[{"id":"a","identifier":"s|v"}]})"),
                    Catch::Contains("$.sources[0].patients[0]"));
  CHECK_THROWS_WITH(parse(R"({"base_url":"https://x","resource_types":["Observation"],"group":"g","state_path":"/s",
                             "auth":{"kind":"bearer"}})"),
                    Catch::Contains("$.sources[0].auth.token"));
}

TEST_CASE("fhir_poll: the source's own thread polls, then stops and drains", "[fhir][poll]") {
  if (!FhirTestServer::available()) {
    WARN("node/npm unavailable: fhir_poll server tests skipped");
    return;
  }
  PollFixture f;
  f.server = std::make_unique<FhirTestServer>(phrgate::testing::FhirTestServerOptions{});
  f.server->start();
  fhir_client::ClientOptions co;
  co.base_url = f.server->base_url();
  fhir_client::FhirHttpClient seed(co);
  post_transaction(seed, patient_entry("7d0f0e55-0000-4000-8000-000000000004", "M-1") + "," +
                             observation_entry("urn:uuid:7d0f0e55-0000-4000-8000-000000000004", 1));
  std::atomic<int> notified{0};
  pipeline::SourceDeps deps{f.io, *f.inbox, f.metrics, [&notified] { ++notified; }, f.dir.path()};
  FhirPollConfig cfg = f.config(10);
  cfg.state_path.clear();  // the data dir default
  cfg.interval = std::chrono::seconds(1);
  fhir::FhirPollSource source(cfg, deps);
  source.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (notified < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  source.stop_accepting();
  source.drain(std::chrono::steady_clock::now() + std::chrono::seconds(20));
  CHECK(notified == 2);  // the Patient page and the Observation page
  CHECK(f.rows().size() == 2);
  CHECK(std::ifstream(f.dir.file("fhir_poll-emr-poll.db")).good());
}

TEST_CASE("fhir_poll: throughput figure (resources polled and converted per second)", "[fhir][poll][bench]") {
  if (!FhirTestServer::available()) {
    WARN("node/npm unavailable: fhir_poll server tests skipped");
    return;
  }
  PollFixture f;
  f.server = std::make_unique<FhirTestServer>(phrgate::testing::FhirTestServerOptions{});
  f.server->start();
  fhir_client::ClientOptions co;
  co.base_url = f.server->base_url();
  fhir_client::FhirHttpClient seed(co);
  constexpr int kObservations = 300;
  std::string entries = patient_entry("7d0f0e55-0000-4000-8000-000000000005", "M-1");
  for (int i = 1; i <= kObservations; ++i)
    entries += "," + observation_entry("urn:uuid:7d0f0e55-0000-4000-8000-000000000005", i);
  post_transaction(seed, entries);
  fhir::FhirPollSource source(f.config(100), f.deps);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(source.poll_once());
  const double poll_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto rows = f.rows();
  const auto t1 = std::chrono::steady_clock::now();
  std::size_t converted = 0;
  for (const auto& row : rows) {
    pipeline::ConvertInput in;
    in.payload = row.payload;
    in.source = row.source;
    for (const auto& m : fhir::convert_fhir(in)) {
      REQUIRE(m.ok);
      converted += m.resources.size();
    }
  }
  const double convert_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  CHECK(converted >= kObservations + 1);
  std::printf("fhir_poll_bench_resources=%d\nfhir_poll_resources_per_s=%.0f\nfhir_convert_polled_resources_per_s=%.0f\n",
              kObservations + 1, (kObservations + 1) / poll_s, converted / convert_s);
}
