// End-to-end: the real phrgate binary receives a small CCD (written for this test) by
// POST /ingest/ccda and another through a "ccda_folder" source, converts them and serves the
// Patient through /fhir/Patient. When the daemon has no C-CDA converter yet, the test WARNs
// and stops after checking intake. Uses tests/e2e's DaemonProcess (another helper's folder).
#include <catch2/catch.hpp>

#include "tests/adapters/ccda_intake/ccda_test_documents.h"
#include "tests/adapters/hl7v2_folder/folder_test_support.h"
#include "tests/e2e/daemon_process.h"
#include "tests/e2e/e2e_support.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::testing;
using namespace phrgate::testing::folder_source;
namespace docs = phrgate::testing::ccda_docs;

namespace {
const std::string kAdmin = "ccda-e2e-admin-token-0123456789";
const std::string kIngest = "ccda-e2e-ingest-token-0123456789";

std::string ccda_config(const std::string& dir) {
  return R"({
  "data_dir": ")" + dir + R"(/data",
  "http": {"listen": "127.0.0.1", "port": 0,
           "tokens": [{"name": "test-admin", "role": "admin", "token": ")" + kAdmin + R"("},
                      {"name": "emr-feed", "role": "ingest", "token": ")" + kIngest + R"("}]},
  "inbox": {"max_delay_us": 500},
  "pipeline": {"retry_delay_ms": 100},
  "sources": [{"name": "emr-ccda-drop", "type": "ccda_folder", "path": ")" + dir + R"(/drop",
               "poll_interval_ms": 20, "min_file_age_ms": 50}],
  "sinks": [{"name": "phr", "type": "phr_store"}]
})";
}
}  // namespace

TEST_CASE("daemon: a C-CDA posted to /ingest/ccda or dropped in a folder reaches /fhir/Patient", "[e2e]") {
  TempDir dir;
  DaemonProcess daemon(dir.path(), ccda_config(dir.path()));
  daemon.start();
  const uint16_t http = daemon.http_port();

  auto posted = http_request("127.0.0.1", http, "POST", "/ingest/ccda", docs::ccd("E2E-DOC-1", "E2E-CCDA-MRN-1"),
                             {{"Authorization", "Bearer " + kIngest}, {"Content-Type", "application/cda+xml"}});
  REQUIRE(posted.status == 202);
  auto bad = http_request("127.0.0.1", http, "POST", "/ingest/ccda", docs::xxe(),
                          {{"Authorization", "Bearer " + kIngest}, {"Content-Type", "application/xml"}});
  CHECK(bad.status == 400);
  drop_file(dir.path() + "/drop", "second.xml", docs::ccd("E2E-DOC-2", "E2E-CCDA-MRN-2"));
  REQUIRE(wait_until([&] { return exists(dir.path() + "/drop/processed/second.xml"); }));
  wait_pipeline_idle(http, kAdmin);

  auto queues = get_json(http, "/api/queues", kAdmin);
  CHECK(queues["inbox"]["rejected"].GetInt64() == 1);
  if (daemon.log_text().find("no converter for content type application/cda+xml") != std::string::npos) {
    WARN("the daemon has no C-CDA converter registered yet: conversion not checked");
    CHECK(daemon.stop() == 0);
    return;
  }
  CHECK(queues["inbox"]["done"].GetInt64() == 2);
  CHECK(queues["inbox"]["failed"].GetInt64() == 0);
  for (const char* mrn : {"E2E-CCDA-MRN-1", "E2E-CCDA-MRN-2"}) {
    INFO(mrn);
    auto found = get_json(http, std::string("/fhir/Patient?identifier=") + mrn, kAdmin);
    REQUIRE(found["total"].GetInt() == 1);
    const auto& patient = found["entry"][0]["resource"];
    CHECK(std::string(patient["birthDate"].GetString()) == "1975-04-05");
    CHECK(std::string(patient["gender"].GetString()) == "female");
    CHECK(std::string(patient["name"][0]["family"].GetString()) == "Intakeson");
  }

  CHECK(daemon.stop() == 0);
  std::string log = daemon.log_text();
  CHECK(log.find("\"event\":\"ccda.accepted\"") != std::string::npos);
  CHECK(log.find("Intakeson") == std::string::npos);  // no PHI in the log
  CHECK(log.find("19750405") == std::string::npos);
}
