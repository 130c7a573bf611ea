// End-to-end: the real phrgate binary with an "hl7v2_folder" source. An EMR drops a file of
// two messages; the test waits for it in processed/, reads the Patient back through the
// FHIR API, drops a bad file (failed/ + sidecar), and stops the daemon gracefully.
// Kept out of tests/e2e on purpose (another helper owns that folder); uses its DaemonProcess.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/adapters/hl7v2_folder/folder_test_support.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;
using namespace phrgate::testing::folder_source;

namespace {
const std::string kToken = "folder-e2e-secret-token-0123456789";

std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(PHRGATE_SOURCE_DIR) + "/deploy/samples/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return to_cr(ss.str());
}

std::string folder_config(const std::string& dir) {
  return R"({
  "data_dir": ")" + dir + R"(/data",
  "http": {"listen": "127.0.0.1", "port": 0,
           "tokens": [{"name": "test-admin", "role": "admin", "token": ")" + kToken + R"("}]},
  "inbox": {"max_delay_us": 500},
  "pipeline": {"retry_delay_ms": 100},
  "sources": [{"name": "emr-drop", "type": "hl7v2_folder", "path": ")" + dir + R"(/drop",
               "poll_interval_ms": 20, "min_file_age_ms": 100, "default_timezone": "-05:00"}],
  "sinks": [{"name": "phr", "type": "phr_store"}]
})";
}

// DaemonProcess reads a port for every source from the ready line; a folder source has
// none ("emr-drop:"), which makes its std::stoi throw after the HTTP port was read and the
// daemon is up. Tolerate exactly that until DaemonProcess skips port-less sources.
void start_daemon(DaemonProcess& daemon) {
  try {
    daemon.start();
  } catch (const std::invalid_argument&) {
    if (!daemon.running() || daemon.http_port() == 0) throw;
  }
}

int64_t source_counter(const rapidjson::Document& queues, const char* name) {
  for (const auto& s : queues["sources"].GetArray())
    if (std::string(s["name"].GetString()) == "emr-drop" && s.HasMember(name)) return s[name].GetInt64();
  return -1;
}
}  // namespace

TEST_CASE("daemon: HL7 v2 files from a watched folder reach the FHIR API", "[e2e]") {
  TempDir dir;
  const std::string drop = dir.path() + "/drop";
  DaemonProcess daemon(dir.path(), folder_config(dir.path()));
  start_daemon(daemon);
  const uint16_t http = daemon.http_port();

  drop_file(drop, "admit-and-labs.hl7", read_sample("01-adt-a01-admit.hl7") + read_sample("02-oru-r01-cbc.hl7"));
  REQUIRE(wait_until([&] { return exists(drop + "/processed/admit-and-labs.hl7"); }));
  CHECK_FALSE(exists(drop + "/admit-and-labs.hl7"));
  wait_pipeline_idle(http, kToken);

  auto found = get_json(http, "/fhir/Patient?identifier=RG-100234", kToken);
  REQUIRE(found["total"].GetInt() == 1);
  const auto& patient = found["entry"][0]["resource"];
  CHECK(std::string(patient["birthDate"].GetString()) == "1984-03-12");
  std::string pid = patient["id"].GetString();
  CHECK(get_json(http, "/fhir/Observation?patient=" + pid, kToken)["total"].GetInt() == 4);

  drop_file(drop, "broken.hl7", adt("E2E-BAD-1", "E2E-MRN-1", "XYZ^Z99"));
  REQUIRE(wait_until([&] { return source_counter(get_json(http, "/api/queues", kToken), "files_failed") == 1; }));
  CHECK(exists(drop + "/failed/broken.hl7"));
  CHECK(slurp(drop + "/failed/broken.hl7.error.txt").find("unsupported message type in MSH-9") != std::string::npos);

  auto queues = get_json(http, "/api/queues", kToken);
  CHECK(queues["inbox"]["rejected"].GetInt64() == 1);
  CHECK(source_counter(queues, "files_processed") == 1);
  CHECK(source_counter(queues, "messages_committed") == 2);

  CHECK(daemon.stop() == 0);
  std::string log = daemon.log_text();
  CHECK(log.find("\"event\":\"folder.file_processed\"") != std::string::npos);
  CHECK(log.find("\"event\":\"folder.file_failed\"") != std::string::npos);
  CHECK(log.find("Okafor") == std::string::npos);  // no PHI in the log
  CHECK(log.find("19840312") == std::string::npos);
}

TEST_CASE("daemon: kill -9 while a folder is being emptied loses no file and stores nothing twice",
          "[e2e][fault]") {
  TempDir dir;
  const std::string drop = dir.path() + "/drop";
  constexpr int kFiles = 60;
  for (int i = 0; i < kFiles; ++i) {
    std::string n = std::to_string(i);
    drop_file(drop, "f" + n + ".hl7", adt("K9-A-" + n, "K9-MRN-" + n) + oru("K9-O-" + n, "K9-MRN-" + n));
  }
  auto processed_count = [&] {
    int n = 0;
    if (exists(drop + "/processed"))
      for (const auto& e : std::filesystem::directory_iterator(drop + "/processed")) n += e.is_regular_file();
    return n;
  };
  DaemonProcess daemon(dir.path(), folder_config(dir.path()));
  start_daemon(daemon);
  REQUIRE(wait_until([&] { return processed_count() >= 3; }));
  daemon.kill9();
  if (processed_count() == kFiles) WARN("kill -9 came after the last file: the restart had nothing to finish");

  start_daemon(daemon);
  const uint16_t http = daemon.http_port();
  REQUIRE(wait_until([&] { return processed_count() >= kFiles; }, std::chrono::seconds(60)));
  wait_pipeline_idle(http, kToken);
  CHECK(processed_count() == kFiles);  // none moved twice
  for (const auto& e : std::filesystem::directory_iterator(drop)) CHECK_FALSE(e.is_regular_file());
  CHECK_FALSE(exists(drop + "/failed/f0.hl7"));
  auto queues = get_json(http, "/api/queues", kToken);
  const auto& inbox = queues["inbox"];
  CHECK(inbox["done"].GetInt64() == 2 * kFiles);  // every message once, none twice
  CHECK(inbox["pending"].GetInt64() + inbox["failed"].GetInt64() + inbox["rejected"].GetInt64() == 0);
  CHECK(get_json(http, "/fhir/Patient?identifier=K9-MRN-" + std::to_string(kFiles - 1), kToken)["total"].GetInt() == 1);
  CHECK(daemon.stop() == 0);
}
