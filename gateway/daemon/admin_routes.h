// The HTTP routes of the daemon: health, Prometheus metrics, the queue API for operators,
// the mapping API (GET /api/unmapped, POST /api/mappings/reload, POST
// /api/messages/{id}/replay) and the FHIR read API. Handlers are plain functions over
// http_types.h (no Beast here); they never echo message content or identifiers in errors.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "gateway/admin/fhir_read_api.h"
#include "gateway/admin/http_server.h"
#include "gateway/audit/audit_record.h"
#include "gateway/core/metrics.h"
#include "gateway/identity/identity_routes.h"
#include "gateway/identity/person_index.h"
#include "gateway/daemon/message_routes.h"
#include "gateway/mapping/mapping_versions.h"
#include "gateway/mapping/unmapped_codes.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/pipeline/sink.h"
#include "gateway/pipeline/source.h"
#include "gateway/queue/inbox.h"

namespace phrgate::daemon {

struct AdminContext {
  queue::Inbox& inbox;
  store::PhrStore& store;
  metrics::Registry& metrics;
  const std::vector<std::unique_ptr<pipeline::Source>>& sources;
  const std::vector<std::unique_ptr<pipeline::Sink>>& sinks;
  std::atomic<bool>& shutting_down;
  // The mapping API's parts; its routes are added only when all three are set.
  mapping::MappingVersions* mappings = nullptr;
  mapping::UnmappedCodeStore* unmapped = nullptr;
  pipeline::Pipeline* pipeline = nullptr;
  // Called for every replay and discard of a message (message_routes.h); empty: none.
  MessageAuditHook message_audit;
  // The audit trail (gateway/audit): mapping reloads are recorded through it; empty: none.
  audit::AuditRecorder audit;
  // 1/5/15-minute rates per source and sink (track_queue_rates); shown in /api/queues.
  metrics::RateTracker* rates = nullptr;
  // The person index (gateway/identity); its /api/identity/* routes are added when set.
  identity::PersonIndex* identity = nullptr;
  // Called after each operator decision on identity (audit, releasing held messages).
  identity::IdentityDecisionHook identity_decided;
};

void add_admin_routes(http::HttpServer& server, AdminContext& ctx, admin::FhirReadApi& fhir);

// GET /api/queues body: inbox depth and age, per-source and per-sink counters (and rates).
std::string queues_json(AdminContext& ctx);

// Tracks "source/<name>/in|errors", "sink/<name>/out|errors" and "pipeline/out|errors" in
// `rates` and exports them as gauges phrgate_{source,sink,pipeline}_rate_per_second.
void track_queue_rates(metrics::RateTracker& rates, metrics::Registry& metrics,
                       const std::vector<std::unique_ptr<pipeline::Source>>& sources,
                       const std::vector<std::unique_ptr<pipeline::Sink>>& sinks);

// Reloads the mapping tables (SIGHUP and POST /api/mappings/reload) and logs the outcome:
// mappings.reloaded, or mappings.reload_refused (the running set stays in force).
mapping::ReloadResult reload_mappings(mapping::MappingVersions& mappings, std::string_view trigger);

}  // namespace phrgate::daemon
