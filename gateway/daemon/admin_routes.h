// The HTTP routes of the daemon: health, Prometheus metrics, the queue API for operators and
// the FHIR read API. Handlers are plain functions over http_types.h (no Beast here).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "gateway/admin/fhir_read_api.h"
#include "gateway/admin/http_server.h"
#include "gateway/core/metrics.h"
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
};

void add_admin_routes(http::HttpServer& server, AdminContext& ctx, admin::FhirReadApi& fhir);

// GET /api/queues body: inbox depth and age, per-source and per-sink counters.
std::string queues_json(AdminContext& ctx);

}  // namespace phrgate::daemon
