// End-to-end: the mapping runtime on the real phrgate binary, with "mappings_dir" pointing at
// a temp copy of the repo's mappings/. An ORU with a local code shows up in GET /api/unmapped
// and in the metric; the FHIR API holds the sender's coding only. The test then adds a CSV
// row, reloads (a broken table is refused first, 422), replays the message with remap and
// sees the LOINC coding appear in front of the original local coding. SIGHUP reloads too.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "adapters/common/mllp/mllp_client.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;
namespace fs = std::filesystem;

namespace {

const std::string kToken = "e2e-mapping-token-0123456789";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

HttpResult post(uint16_t port, const std::string& target) {
  return http_request("127.0.0.1", port, "POST", target, {}, {{"Authorization", "Bearer " + kToken}});
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

// Observation.code codings as "system|code", in order.
std::vector<std::string> observation_codings(uint16_t port, const std::string& mrn) {
  auto patients = get_json(port, "/fhir/Patient?identifier=" + mrn, kToken);
  REQUIRE(patients["total"].GetInt() == 1);
  std::string pid = patients["entry"][0]["resource"]["id"].GetString();
  auto obs = get_json(port, "/fhir/Observation?patient=" + pid, kToken);
  REQUIRE(obs["total"].GetInt() == 1);
  std::vector<std::string> out;
  for (const auto& c : obs["entry"][0]["resource"]["code"]["coding"].GetArray())
    out.push_back(std::string(c["system"].GetString()) + "|" + c["code"].GetString());
  return out;
}

// Polls GET /api/unmapped?source=emr until (system, code) is listed; returns its count.
int64_t unmapped_count(uint16_t port, const std::string& system, const std::string& code) {
  for (int i = 0; i < 500; ++i) {
    auto d = get_json(port, "/api/unmapped?source=emr", kToken);
    for (const auto& c : d["codes"].GetArray())
      if (system == c["system"].GetString() && code == c["code"].GetString()) return c["count"].GetInt64();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

}  // namespace

TEST_CASE("daemon: unmapped codes, reload and replay with the mapped LOINC coding", "[e2e][mapping]") {
  TempDir dir;
  const std::string tables = dir.file("mappings");
  fs::copy(std::string(PHRGATE_SOURCE_DIR) + "/mappings", tables, fs::copy_options::recursive);
  std::string config = basic_config(dir.path(), kToken);
  REQUIRE(config.front() == '{');
  config.insert(1, "\n  \"mappings_dir\": \"" + tables + "\",");
  DaemonProcess daemon(dir.path(), config);
  daemon.start();
  const uint16_t http = daemon.http_port();

  // The first message into a fresh inbox is row 1.
  const std::string oru = to_cr(
      "MSH|^~\\&|LAB|TEST_HOSP|PHRGATE|PHR|20261124101500-0500||ORU^R01^ORU_R01|MAP-0001|P|2.5.1\n"
      "PID|1||MAP-MRN-1^^^TEST_HOSP^MR||Tester^Pat||19700101|F\n"
      "OBR|1|P-77|F-77|24331-1^Lipid panel^LN|||20261124090000-0500\n"
      "OBX|1|NM|GLU-LOCAL^Glucose local^99LAB||105|mg/dL^mg/dL^UCUM|70-99|H|||F|||20261124090000-0500\n");
  phrgate::mllp::MllpClient client;
  client.connect("127.0.0.1", daemon.source_port("emr"));
  REQUIRE(segment_field(client.send(oru), "MSA", 1) == "AA");
  wait_pipeline_idle(http, kToken);

  // Unmapped: listed, counted in the metric, and passed through unchanged.
  CHECK(unmapped_count(http, "99LAB", "GLU-LOCAL") == 1);
  auto metrics = http_request("127.0.0.1", http, "GET", "/metrics");
  CHECK(metrics.body.find("phrgate_unmapped_codes_total{source=\"emr\"}") != std::string::npos);
  const std::string local = "urn:phrgate:codesystem:TEST_HOSP:99LAB|GLU-LOCAL";
  CHECK(observation_codings(http, "MAP-MRN-1") == std::vector<std::string>{local});

  // A broken table is refused whole, with its file:line; the running set stays.
  write_file(tables + "/local_broken.csv",
             "source_system,source_code,target_system,target_code,target_display,scope\n99LAB,ONLY-TWO\n");
  auto refused = post(http, "/api/mappings/reload");
  CHECK(refused.status == 422);
  CHECK(refused.body.find("local_broken.csv:2:") != std::string::npos);
  fs::remove(tables + "/local_broken.csv");

  // Add the row and reload.
  write_file(tables + "/local_lab.csv",
             "source_system,source_code,target_system,target_code,target_display,scope\n"
             "99LAB,GLU-LOCAL,http://loinc.org,2345-7,Glucose [Mass/volume] in Serum or Plasma,\n");
  auto reloaded = post(http, "/api/mappings/reload");
  REQUIRE(reloaded.status == 200);
  auto r = parse(reloaded.body);
  const std::string version_a = r["previous_version"].GetString();
  const std::string version_b = r["version"].GetString();
  CHECK(version_a != version_b);
  CHECK(fs::is_directory(dir.path() + "/data/mapping-versions/" + version_a));
  CHECK(fs::is_regular_file(dir.path() + "/data/mapping-versions/" + version_b + "/local_lab.csv"));

  // Replay with the version it was converted with: unchanged.
  auto same = post(http, "/api/messages/1/replay");
  REQUIRE(same.status == 200);
  CHECK(std::string(parse(same.body)["mapping_version"].GetString()) == version_a);
  CHECK(observation_codings(http, "MAP-MRN-1") == std::vector<std::string>{local});

  // Replay with the current tables: LOINC first, the local coding kept.
  auto remapped = post(http, "/api/messages/1/replay?remap=true");
  REQUIRE(remapped.status == 200);
  auto d = parse(remapped.body);
  CHECK(d["id"].GetInt64() == 1);
  CHECK(std::string(d["mapping_version"].GetString()) == version_b);
  CHECK(std::string(d["status"].GetString()) == "done");
  CHECK(observation_codings(http, "MAP-MRN-1") == std::vector<std::string>{"http://loinc.org|2345-7", local});
  CHECK(post(http, "/api/messages/999/replay").status == 404);

  // SIGHUP reloads as well (here: a set with one more row).
  write_file(tables + "/local_lab2.csv",
             "source_system,source_code,target_system,target_code,target_display,scope\n"
             "99LAB,NA-LOCAL,http://loinc.org,2951-2,Sodium,\n");
  REQUIRE(::kill(daemon.pid(), SIGHUP) == 0);
  bool seen = false;
  for (int i = 0; i < 250 && !seen; ++i) {
    std::string log = daemon.log_text();
    seen = log.find("\"trigger\":\"SIGHUP\"") != std::string::npos;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(seen);
  CHECK(daemon.log_text().find("mappings.reloaded") != std::string::npos);
  CHECK(daemon.stop() == 0);
}
