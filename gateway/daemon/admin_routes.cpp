// Implementation of the daemon's HTTP routes (see admin_routes.h).
#include "gateway/daemon/admin_routes.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>

#include "adapters/ccda/ccda_http_ingest.h"
#include "adapters/fhir/fhir_push_routes.h"
#include "gateway/admin/static_files.h"
#include "gateway/core/log.h"
#include "gateway/identity/identity_routes.h"
#include "gateway/queue/inbox.h"

namespace phrgate::daemon {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

void write_counters(rapidjson::Writer<rapidjson::StringBuffer>& w,
                    const std::vector<std::pair<std::string, int64_t>>& counters) {
  for (const auto& [k, v] : counters) {
    w.Key(k.c_str());
    w.Int64(v);
  }
}

// Unix epoch milliseconds -> "2024-05-01T12:34:56.789Z".
std::string iso_utc(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// A non-negative integer query parameter; `fallback` when absent, false when malformed.
bool int_param(const http::Request& req, std::string_view key, int64_t fallback, int64_t& out) {
  const std::string* v = req.param(key);
  if (!v) {
    out = fallback;
    return true;
  }
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  return ec == std::errc() && end == v->data() + v->size() && out >= 0;
}

// GET /api/unmapped?source=&_count=&_offset=
http::Response unmapped_codes(AdminContext& ctx, const http::Request& req) {
  constexpr int64_t kDefaultCount = 100, kMaxCount = 1000;
  int64_t count = 0, offset = 0;
  if (!int_param(req, "_count", kDefaultCount, count) || !int_param(req, "_offset", 0, offset))
    return http::operation_outcome(400, "invalid", "_count and _offset must be non-negative integers");
  const std::string* source = req.param("source");
  auto page = ctx.unmapped->list(source ? *source : std::string_view(), offset, std::min(count, kMaxCount));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("codes");
  w.StartArray();
  for (const auto& c : page.codes) {
    w.StartObject();
    put(w, "source", c.source);
    put(w, "system", c.system);
    put(w, "code", c.code);
    put(w, "display", c.display);
    w.Key("count");
    w.Int64(c.count);
    put(w, "first_seen", iso_utc(c.first_seen_ms));
    put(w, "last_seen", iso_utc(c.last_seen_ms));
    w.EndObject();
  }
  w.EndArray();
  w.Key("total");
  w.Int64(page.total);
  w.EndObject();
  return json_response(200, std::string(buf.GetString(), buf.GetSize()));
}

// An OperationOutcome with one error issue per message (file:line errors of a table set).
http::Response outcome_with_issues(int status, std::string_view code, const std::vector<std::string>& messages) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put(w, "resourceType", "OperationOutcome");
  w.Key("issue");
  w.StartArray();
  for (const auto& m : messages) {
    w.StartObject();
    put(w, "severity", "error");
    put(w, "code", code);
    put(w, "diagnostics", m);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  http::Response r;
  r.status = status;
  r.content_type = "application/fhir+json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

// POST /api/mappings/reload
http::Response reload_route(AdminContext& ctx, const http::Request& req) {
  mapping::ReloadResult r = reload_mappings(*ctx.mappings, "api");
  if (ctx.audit)
    ctx.audit({0, req.principal, "", "reload", "mappings", r.version, "", r.ok ? "success" : "failure",
               "{\"rows\":" + std::to_string(r.rows) + "}", req.peer});
  if (!r.ok) {
    if (r.storage_failed) return outcome_with_issues(500, "exception", r.errors);
    return outcome_with_issues(422, "invalid", r.errors);
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put(w, "version", r.version);
  w.Key("rows");
  w.Uint64(r.rows);
  put(w, "previous_version", r.previous_version);
  w.EndObject();
  return json_response(200, std::string(buf.GetString(), buf.GetSize()));
}

// POST /api/messages/{id}/replay[?remap=true]
http::Response replay_route(AdminContext& ctx, const http::Request& req) {
  const std::string& id_text = req.path_params.at("id");
  int64_t id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  const std::string* remap_text = req.param("remap");
  if (remap_text && *remap_text != "true" && *remap_text != "false")
    return http::operation_outcome(400, "invalid", "remap must be true or false");
  const bool remap = remap_text && *remap_text == "true";
  std::optional<queue::InboxRow> row;
  if (ec == std::errc() && end == id_text.data() + id_text.size() && id > 0) row = ctx.inbox.get(id);
  if (!row) return http::operation_outcome(404, "not-found", "No message with this id in the inbox");
  if (row->status == queue::InboxStatus::Pending)
    return http::operation_outcome(409, "conflict", "The message is still queued for conversion");
  if (row->status == queue::InboxStatus::Rejected)
    return http::operation_outcome(409, "conflict", "The message was rejected when received; it was never converted");

  std::shared_ptr<const mapping::CodeMaps> maps;
  if (remap) {
    maps = ctx.mappings->current();
  } else {
    std::string why;
    maps = ctx.mappings->get(row->mapping_version, &why);
    if (!maps) return http::operation_outcome(409, "not-found", why + "; replay with remap=true to use the current tables");
  }
  pipeline::ReplayOutcome out = ctx.pipeline->replay(*row, std::move(maps));
  using Result = pipeline::ReplayOutcome::Result;
  if (out.result == Result::Retry)
    return http::operation_outcome(503, "transient", "A sink asked to retry later: " + out.error);
  if (out.result == Result::NotReplayable) return http::operation_outcome(409, "conflict", out.error);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("id");
  w.Int64(row->id);
  put(w, "mapping_version", out.mapping_version);
  put(w, "status", out.result == Result::Done ? "done" : "failed");
  if (!out.error.empty()) put(w, "error", out.error);
  w.EndObject();
  return json_response(200, std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace

mapping::ReloadResult reload_mappings(mapping::MappingVersions& mappings, std::string_view trigger) {
  mapping::ReloadResult r = mappings.reload();
  if (r.ok) {
    log::info("mappings.reloaded", {{"trigger", trigger}, {"version", r.version},
                                    {"previous_version", r.previous_version}, {"rows", std::to_string(r.rows)}});
    return r;
  }
  constexpr std::size_t kLoggedErrors = 20;
  for (std::size_t i = 0; i < r.errors.size() && i < kLoggedErrors; ++i)
    log::error("mappings.invalid", {{"error", r.errors[i]}});
  log::error("mappings.reload_refused", {{"trigger", trigger}, {"errors", std::to_string(r.errors.size())},
                                         {"version", r.version}, {"action", "the running tables stay in force"}});
  return r;
}

namespace {

const char* const kRateWindows[] = {"1m", "5m", "15m"};

// Sums the counters of a status named in `names` (adapters name them differently).
int64_t sum_counters(const std::vector<std::pair<std::string, int64_t>>& counters,
                     const std::vector<std::string_view>& names) {
  int64_t total = 0;
  for (const auto& [k, v] : counters)
    for (auto n : names)
      if (k == n) total += v;
  return total;
}

const std::vector<std::string_view> kSourceIn = {"received", "messages_committed", "documents_committed"};
const std::vector<std::string_view> kSourceErrors = {"rejected", "commit_failures", "messages_rejected", "files_failed"};
const std::vector<std::string_view> kSinkOut = {"delivered"};
const std::vector<std::string_view> kSinkErrors = {"errors", "rejected"};

// "rates": {"in": {"1m": r, "5m": r, "15m": r, "total": n}, ...} of `prefix`/<kind>.
void write_rates(JsonWriter& w, const metrics::RateTracker* rates, const std::string& prefix,
                 std::initializer_list<const char*> kinds) {
  if (!rates) return;
  w.Key("rates");
  w.StartObject();
  for (const char* kind : kinds) {
    auto r = rates->rates(prefix + "/" + kind);
    if (!r) continue;
    w.Key(kind);
    w.StartObject();
    w.Key("1m"); w.Double(r->per_s_1m);
    w.Key("5m"); w.Double(r->per_s_5m);
    w.Key("15m"); w.Double(r->per_s_15m);
    w.Key("total"); w.Int64(r->total);
    w.EndObject();
  }
  w.EndObject();
}

void track_with_gauges(metrics::RateTracker& rates, metrics::Registry& metrics, const std::string& key,
                       const char* family, const std::string& labels, std::function<int64_t()> read) {
  rates.track(key, std::move(read));
  for (int i = 0; i < 3; ++i)
    metrics.gauge(family, "Moving average rate (per second) over the window, ticked every 5 s",
                  labels + ",window=\"" + kRateWindows[i] + "\"", [&rates, key, i] {
                    auto r = rates.rates(key);
                    if (!r) return 0.0;
                    return i == 0 ? r->per_s_1m : i == 1 ? r->per_s_5m : r->per_s_15m;
                  });
}

}  // namespace

void track_queue_rates(metrics::RateTracker& rates, metrics::Registry& metrics,
                       const std::vector<std::unique_ptr<pipeline::Source>>& sources,
                       const std::vector<std::unique_ptr<pipeline::Sink>>& sinks) {
  for (const auto& s : sources) {
    const std::string name = s->name(), labels = "source=\"" + name + "\"";
    const pipeline::Source* src = s.get();
    track_with_gauges(rates, metrics, "source/" + name + "/in", "phrgate_source_rate_per_second", labels + ",kind=\"in\"",
                      [src] { return sum_counters(src->status().counters, kSourceIn); });
    track_with_gauges(rates, metrics, "source/" + name + "/errors", "phrgate_source_rate_per_second",
                      labels + ",kind=\"errors\"", [src] { return sum_counters(src->status().counters, kSourceErrors); });
  }
  for (const auto& s : sinks) {
    const pipeline::Sink* sink = s.get();
    const std::string name = sink->status().name, labels = "sink=\"" + name + "\"";
    track_with_gauges(rates, metrics, "sink/" + name + "/out", "phrgate_sink_rate_per_second", labels + ",kind=\"out\"",
                      [sink] { return sum_counters(sink->status().counters, kSinkOut); });
    track_with_gauges(rates, metrics, "sink/" + name + "/errors", "phrgate_sink_rate_per_second",
                      labels + ",kind=\"errors\"", [sink] { return sum_counters(sink->status().counters, kSinkErrors); });
  }
  // The registry hands back the pipeline's own counters (same name, no labels).
  auto& processed = metrics.counter("phrgate_pipeline_messages_processed_total", "");
  auto& failed = metrics.counter("phrgate_pipeline_messages_failed_total", "");
  track_with_gauges(rates, metrics, "pipeline/out", "phrgate_pipeline_rate_per_second", "kind=\"out\"",
                    [&processed] { return static_cast<int64_t>(processed.value()); });
  track_with_gauges(rates, metrics, "pipeline/errors", "phrgate_pipeline_rate_per_second", "kind=\"errors\"",
                    [&failed] { return static_cast<int64_t>(failed.value()); });
}

std::string queues_json(AdminContext& ctx) {
  auto stats = ctx.inbox.stats();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("inbox");
  w.StartObject();
  w.Key("pending"); w.Int64(stats.pending);
  w.Key("oldest_pending_age_s"); w.Double(stats.oldest_pending_age_s);
  w.Key("done"); w.Int64(stats.done);
  w.Key("failed"); w.Int64(stats.failed);
  w.Key("rejected"); w.Int64(stats.rejected);
  w.EndObject();
  w.Key("sources");
  w.StartArray();
  for (const auto& s : ctx.sources) {
    auto st = s->status();
    w.StartObject();
    w.Key("name"); w.String(st.name.c_str());
    w.Key("type"); w.String(st.type.c_str());
    if (!st.listening.empty()) { w.Key("port"); w.String(st.listening.c_str()); }
    write_counters(w, st.counters);
    write_rates(w, ctx.rates, "source/" + st.name, {"in", "errors"});
    w.EndObject();
  }
  w.EndArray();
  w.Key("sinks");
  w.StartArray();
  for (const auto& s : ctx.sinks) {
    auto st = s->status();
    w.StartObject();
    w.Key("name"); w.String(st.name.c_str());
    w.Key("type"); w.String(st.type.c_str());
    write_counters(w, st.counters);
    write_rates(w, ctx.rates, "sink/" + st.name, {"out", "errors"});
    w.EndObject();
  }
  w.EndArray();
  write_rates(w, ctx.rates, "pipeline", {"out", "errors"});
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void add_admin_routes(http::HttpServer& server, AdminContext& ctx, admin::FhirReadApi& fhir) {
  using http::Role;
  server.route("GET", "/healthz", Role::None, [&ctx](const http::Request&) {
    if (ctx.shutting_down) return json_response(503, R"({"status":"stopping"})");
    return json_response(200, R"({"status":"ok"})");
  });
  server.route("GET", "/metrics", Role::None, [&ctx](const http::Request&) {
    http::Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = ctx.metrics.render();
    return r;
  });
  server.route("GET", "/api/queues", Role::Operator,
               [&ctx](const http::Request&) { return json_response(200, queues_json(ctx)); });
  http::add_dashboard_routes(server);  // GET /, /dashboard/* (gateway/admin/static_files.h)
  add_message_routes(server, {ctx.inbox, ctx.pipeline, ctx.mappings, &ctx.shutting_down, ctx.message_audit});

  // POST /ingest/ccda (adapters/ccda/ccda_http_ingest.h); a committed document wakes the pipeline.
  ccda::add_ccda_ingest_routes(server, ctx.inbox, [&ctx] { if (ctx.pipeline) ctx.pipeline->notify(); }, {});
  // POST /fhir, POST /fhir/{type} (adapters/fhir/fhir_push_routes.h): FHIR push, answered after the commit.
  phrgate::fhir::add_fhir_push_routes(server, {ctx.inbox, [&ctx] { if (ctx.pipeline) ctx.pipeline->notify(); },
                                              [&ctx] { return ctx.mappings ? ctx.mappings->current() : nullptr; },
                                              &ctx.shutting_down});

  if (ctx.identity) identity::add_identity_routes(server, *ctx.identity, ctx.identity_decided);  // gateway/identity/identity_routes.h

  if (ctx.mappings && ctx.unmapped && ctx.pipeline) {
    server.route("GET", "/api/unmapped", Role::Operator,
                 [&ctx](const http::Request& req) { return unmapped_codes(ctx, req); });
    server.route("POST", "/api/mappings/reload", Role::Admin,
                 [&ctx](const http::Request& req) { return reload_route(ctx, req); });
    server.route("POST", "/api/messages/{id}/replay", Role::Operator, [&ctx](const http::Request& req) {
      if (ctx.shutting_down) return http::operation_outcome(503, "transient", "The gateway is stopping");
      http::Response r = replay_route(ctx, req);
      if (ctx.message_audit && r.status == 200)
        ctx.message_audit(req.principal, "message.replay", "inbox/" + req.path_params.at("id"), "replayed");
      return r;
    });
  }

  server.route("GET", "/fhir/metadata", Role::None, [&fhir](const http::Request& req) { return fhir.metadata(req); });
  server.route("GET", "/fhir/{type}", Role::Reader, [&fhir](const http::Request& req) {
    return fhir.search(req, req.path_params.at("type"));
  });
  server.route("GET", "/fhir/{type}/{id}", Role::Reader, [&fhir](const http::Request& req) {
    return fhir.read(req, req.path_params.at("type"), req.path_params.at("id"));
  });
  server.route("GET", "/fhir/Patient/{id}/$everything", Role::Reader, [&fhir](const http::Request& req) {
    return fhir.everything(req, req.path_params.at("id"));
  });
}

}  // namespace phrgate::daemon
