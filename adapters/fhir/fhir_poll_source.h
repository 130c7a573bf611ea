// The "fhir_poll" source: polls a FHIR R4 server for configured patients' resources, one
// search per (resource type, patient) with _lastUpdated=ge<high-water mark>, following
// Bundle.link[next]; each page becomes one inbox row (a searchset Bundle with the page's new
// resources and the Patient) for the application/fhir+json converter. Runs on its own thread
// (blocking HTTP never touches the io_context). Marks live in FhirPollState and advance only
// after every page of a search is committed. Never logs bodies, patient ids or identifiers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "adapters/common/fhir_client/fhir_http_client.h"
#include "gateway/core/config.h"
#include "gateway/pipeline/source.h"

namespace phrgate::fhir {

struct FhirPollPatient {
  std::string id;          // the Patient's id on the server, or
  std::string identifier;  // "system|value", searched with Patient?identifier=
};

struct FhirPollConfig {
  std::string name;
  fhir_client::ClientOptions client;
  std::vector<std::string> resource_types;
  std::vector<FhirPollPatient> patients;
  std::string group;  // a Group id whose Patient members are polled
  std::string state_path;  // "": <data dir>/fhir_poll-<name>.db
  std::chrono::seconds interval{300};
  int page_size = 100;
  int max_attempts = 5;
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60000};
  std::chrono::milliseconds commit_timeout{30000};
};

// Pure: reads the (schema-validated) options; throws std::runtime_error naming the JSON path
// for what the schema cannot express (unknown resource type, a patient with both or neither
// of id/identifier, no patients and no group).
FhirPollConfig parse_fhir_poll_config(const config::AdapterConfig& cfg);

class FhirPollSource final : public pipeline::Source {
 public:
  FhirPollSource(FhirPollConfig config, pipeline::SourceDeps& deps);
  ~FhirPollSource() override;

  const std::string& name() const override;
  // Opens the state file and the client, then starts the poll thread (first poll at once).
  void start() override;
  void stop_accepting() override;
  void drain(std::chrono::steady_clock::time_point deadline) override;
  pipeline::SourceStatus status() const override;
  pipeline::ConvertSettings convert_settings() const override { return {}; }

  // One full poll on the caller's thread (tests, benchmarks; start() must not have been
  // called). Opens state and client on first use. True when every search completed.
  bool poll_once();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::unique_ptr<pipeline::Source> make_fhir_poll_source(const config::AdapterConfig& cfg, pipeline::SourceDeps& deps);

}  // namespace phrgate::fhir
