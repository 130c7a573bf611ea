// The fhir_poll source against a realistic source: the Synthea sample bundles of the public
// corpus (the hospital, its practitioners and one patient, ../shared/corpus/fhir) are loaded
// into the independent @medplum/fhir-router test server, then polled for that patient. Every
// resource of the polled types reaches the inbox exactly once and converts under one person.
// Skipped (with a warning) when the corpus or node/npm is absent.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <boost/asio/io_context.hpp>

#include "adapters/fhir/fhir_poll_source.h"
#include "adapters/fhir/fhir_to_phr.h"
#include "gateway/core/metrics.h"
#include "gateway/queue/inbox.h"
#include "tests/support/fhir_test_server/fhir_test_server.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path synthea_dir() {
  const char* env = std::getenv("PHRGATE_CORPUS");
  return fs::path(env ? env : PHRGATE_CORPUS_DIR) / "fhir/smart-on-fhir-generated-sample-data/R4/SYNTHEA";
}

}  // namespace

TEST_CASE("fhir_poll: a Synthea patient loaded into the test server is polled completely", "[fhir][poll][corpus]") {
  const fs::path dir = synthea_dir();
  if (!fs::is_directory(dir)) {
    WARN("corpus not found at " << dir.string() << ": Synthea poll test skipped");
    return;
  }
  if (!testing::FhirTestServer::available()) {
    WARN("node/npm unavailable: Synthea poll test skipped");
    return;
  }
  // The smallest patient bundle, after the hospital and practitioner bundles it refers to.
  std::vector<fs::path> patients;
  fs::path hospital, practitioners;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("hospitalInformation", 0) == 0) hospital = e.path();
    else if (name.rfind("practitionerInformation", 0) == 0) practitioners = e.path();
    else if (e.path().extension() == ".json") patients.push_back(e.path());
  }
  REQUIRE_FALSE(patients.empty());
  std::sort(patients.begin(), patients.end(),
            [](const fs::path& a, const fs::path& b) { return fs::file_size(a) < fs::file_size(b); });

  testing::TempDir tmp("phrgate-synthea-poll-");
  testing::FhirTestServer server(testing::FhirTestServerOptions{});
  server.start();
  fhir_client::ClientOptions co;
  co.base_url = server.base_url();
  co.request_timeout = std::chrono::seconds(110);
  fhir_client::FhirHttpClient seed(co);
  for (const auto& p : {hospital, practitioners, patients.front()}) {
    if (p.empty()) continue;
    auto r = seed.post_bundle(read(p));
    INFO(p.filename().string() << ": HTTP " << r.status << " " << r.error << " " << r.body.substr(0, 300));
    REQUIRE(r.ok());
  }
  // What the server holds for the patient, per polled type (the reference count to match).
  rapidjson::Document bundle;
  const std::string text = read(patients.front());
  bundle.Parse(text.c_str(), text.size());
  REQUIRE(bundle.IsObject());
  std::string system, value;
  std::map<std::string, int> expected;
  for (const auto& e : bundle["entry"].GetArray()) {
    const std::string type = e["resource"]["resourceType"].GetString();
    if (type == "Patient" && system.empty()) {
      for (const auto& id : e["resource"]["identifier"].GetArray())
        if (id.HasMember("system") && std::string(id["system"].GetString()) == "https://github.com/synthetichealth/synthea") {
          system = id["system"].GetString();
          value = id["value"].GetString();
        }
    }
    ++expected[type];
  }
  REQUIRE_FALSE(value.empty());
  REQUIRE(expected["Observation"] > 0);

  queue::SqliteInboxOptions io;
  io.path = tmp.file("inbox.db");
  auto inbox = queue::open_sqlite_inbox(io);
  boost::asio::io_context ioc;
  metrics::Registry metrics;
  pipeline::SourceDeps deps{ioc, *inbox, metrics, {}, tmp.path()};
  fhir::FhirPollConfig c;
  c.name = "synthea";
  c.client.base_url = server.base_url();
  c.client.request_timeout = std::chrono::seconds(110);
  c.resource_types = {"Patient", "Encounter", "Condition", "Observation", "Immunization", "Procedure",
                      "MedicationRequest", "DiagnosticReport", "AllergyIntolerance"};
  c.patients = {{"", system + "|" + value}};
  c.state_path = tmp.file("poll-state.db");
  c.page_size = 50;
  {
    fhir::FhirPollSource source(c, deps);
    REQUIRE(source.poll_once());
    REQUIRE(source.poll_once());  // nothing new the second time
  }
  inbox->flush();
  std::map<std::string, int> polled;
  std::string person;
  int converted = 0;
  for (int64_t id = 1;; ++id) {
    auto row = inbox->get(id);
    if (!row) break;
    rapidjson::Document page;
    page.Parse(row->payload.c_str());
    REQUIRE(page.IsObject());
    for (const auto& e : page["entry"].GetArray()) {
      if (e.HasMember("search") && std::string(e["search"]["mode"].GetString()) == "include") continue;
      ++polled[e["resource"]["resourceType"].GetString()];
    }
    pipeline::ConvertInput in;
    in.payload = row->payload;
    in.source = "synthea";
    auto out = fhir::convert_fhir(in);
    REQUIRE(out.size() == 1);
    INFO(out[0].error);
    REQUIRE(out[0].ok);
    if (person.empty()) person = out[0].person_id;
    CHECK(out[0].person_id == person);  // every page lands on one person
    converted += static_cast<int>(out[0].resources.size());
  }
  for (const auto& type : c.resource_types) {
    INFO(type);
    CHECK(polled[type] == expected[type]);  // every resource of the patient, exactly once
  }
  CHECK(converted > 0);
  int total = 0;
  for (const auto& [type, n] : polled) total += n;
  std::printf("fhir_poll_synthea_resources=%d\n", total);
}
