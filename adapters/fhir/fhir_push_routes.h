// The FHIR push receiver on the daemon's HTTP port: POST /fhir (a Bundle of type batch or
// transaction) and POST /fhir/{type} (one resource), for feeding systems holding an "ingest"
// token (or admin). A payload is checked and converted once (the converter is the validator),
// committed durably to the inbox, and answered only after the inbox reports it committed.
// Bad payloads get 4xx with an OperationOutcome (no PHI) and are kept as Rejected inbox rows.
// Must never answer 2xx before the commit, and never echo payload content in errors.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "gateway/admin/http_server.h"

namespace phrgate::mapping {
class CodeMaps;
}
namespace phrgate::queue {
class Inbox;
}

namespace phrgate::fhir {

struct FhirPushOptions {
  queue::Inbox& inbox;
  // Wakes the pipeline after a commit (may be empty).
  std::function<void()> notify_pipeline;
  // The mapping tables in force (identifier systems decide the Patient ids in Location
  // values); may be empty or return null.
  std::function<std::shared_ptr<const mapping::CodeMaps>()> code_maps;
  // Set while the daemon shuts down: pushes get 503 (may be null).
  const std::atomic<bool>* shutting_down = nullptr;
  // How long a handler waits for the inbox's commit before answering 503 (the payload may
  // still be committed then: a client's retry is recognized as a duplicate).
  std::chrono::milliseconds commit_timeout{10'000};
};

// Adds POST /fhir and POST /fhir/{type} (Role::Ingest). Call before server.start().
// `options.inbox` must outlive the server.
void add_fhir_push_routes(http::HttpServer& server, FhirPushOptions options);

}  // namespace phrgate::fhir
