// Implementation of the audit routes and hooks (see audit_routes.h).
#include "gateway/audit/audit_routes.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>

#include "gateway/audit/audit_event_fhir.h"

namespace phrgate::audit {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void str(JsonWriter& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::optional<int64_t> positive(const std::string* v) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size() || out < 1) return std::nullopt;
  return out;
}

// Reads since/until/limit/cursor (and the filters) into `q`; an error response when malformed.
std::optional<http::Response> parse_common(const http::Request& req, int64_t default_limit, int64_t max_limit,
                                           AuditQuery& q) {
  if (const std::string* v = req.param("since")) {
    auto ms = parse_instant(*v);
    if (!ms) return http::operation_outcome(400, "invalid", "since must be an instant (2026-11-25T00:00:00Z) or epoch milliseconds");
    q.since_ms = *ms;
  }
  if (const std::string* v = req.param("until")) {
    auto ms = parse_instant(*v);
    if (!ms) return http::operation_outcome(400, "invalid", "until must be an instant (2026-11-25T00:00:00Z) or epoch milliseconds");
    q.until_ms = *ms;
  }
  q.limit = default_limit;
  if (const std::string* v = req.param("limit")) {
    auto n = positive(v);
    if (!n) return http::operation_outcome(400, "invalid", "limit must be a positive integer");
    q.limit = std::min(*n, max_limit);
  }
  if (const std::string* v = req.param("cursor")) {
    auto n = positive(v);
    if (!n) return http::operation_outcome(400, "invalid", "cursor must be a value returned as next_cursor");
    if (q.oldest_first) q.after_id = *n;
    else q.before_id = *n;
  }
  return std::nullopt;
}

http::Response json(int status, std::string body, std::string content_type = "application/json") {
  http::Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

// Records an audit query or export with the filters used (names only, never values).
void record_access(AuditTrail& trail, const http::Request& req, const char* action, const AuditQuery& q, int status,
                   std::size_t returned) {
  AuditRecord r = record_for(req, action, status);
  r.target_type = "audit";
  r.person_id = q.person_id;
  std::string filters;
  for (const char* k : {"actor", "action", "person", "since", "until", "cursor"})
    if (req.param(k)) filters += std::string(filters.empty() ? "" : ",") + k;
  r.detail_json = "{\"filters\":\"" + filters + "\",\"returned\":" + std::to_string(returned) + "}";
  trail.record(std::move(r));
}

}  // namespace

std::string outcome_of_status(int status) {
  if (status >= 500) return "error";
  if (status >= 400) return "failure";
  return "success";
}

AuditRecord record_for(const http::Request& req, std::string action, int status) {
  AuditRecord r;
  r.actor = req.principal;
  r.action = std::move(action);
  r.outcome = outcome_of_status(status);
  r.client = req.peer;
  r.detail_json = "{\"status\":" + std::to_string(status) + "}";
  return r;
}

http::Response audit_query_route(AuditTrail& trail, const AuditRoutesOptions& options, const http::Request& req) {
  AuditQuery q;
  if (auto error = parse_common(req, options.default_limit, options.max_limit, q)) return *error;
  if (const std::string* v = req.param("actor")) q.actor = *v;
  if (const std::string* v = req.param("action")) q.action = *v;
  if (const std::string* v = req.param("person")) q.person_id = *v;
  AuditPage page = trail.query(q);

  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("events");
  w.StartArray();
  for (const auto& s : page.records) {
    const AuditRecord& r = s.record;
    w.StartObject();
    w.Key("id");
    w.Int64(s.id);
    str(w, "at", iso_instant(r.at_ms));
    str(w, "actor", r.actor);
    str(w, "role", r.role);
    str(w, "action", r.action);
    str(w, "target_type", r.target_type);
    str(w, "target_id", r.target_id);
    str(w, "person_id", r.person_id);
    str(w, "outcome", r.outcome);
    w.Key("detail");
    rapidjson::Document detail;
    detail.Parse(r.detail_json.c_str());
    if (detail.HasParseError()) w.Null();
    else detail.Accept(w);
    str(w, "client", r.client);
    w.EndObject();
  }
  w.EndArray();
  w.Key("next_cursor");
  if (page.more) {
    const std::string cursor = std::to_string(page.records.back().id);
    w.String(cursor.c_str(), static_cast<rapidjson::SizeType>(cursor.size()));
  } else {
    w.Null();
  }
  w.EndObject();
  record_access(trail, req, "audit-query", q, 200, page.records.size());
  return json(200, std::string(buf.GetString(), buf.GetSize()));
}

http::Response audit_export_route(AuditTrail& trail, const AuditRoutesOptions& options, const http::Request& req) {
  AuditQuery q;
  q.oldest_first = true;  // an export reads forward in time; the cursor continues it
  if (auto error = parse_common(req, options.export_default_limit, options.export_max_limit, q)) return *error;
  AuditPage page = trail.query(q);
  std::string next;
  if (page.more) {
    next = "/api/audit/export?cursor=" + std::to_string(page.records.back().id) + "&limit=" + std::to_string(q.limit);
    if (req.param("since")) next += "&since=" + std::to_string(q.since_ms);
    if (req.param("until")) next += "&until=" + std::to_string(q.until_ms);
  }
  std::string body = audit_event_bundle(page.records, options.observer, iso_instant(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()), next);
  record_access(trail, req, "audit-export", q, 200, page.records.size());
  return json(200, std::move(body), "application/fhir+json; charset=utf-8");
}

void add_audit_routes(http::HttpServer& server, AuditTrail& trail, AuditRoutesOptions options) {
  auto shared = std::make_shared<AuditRoutesOptions>(std::move(options));
  server.route("GET", "/api/audit", http::Role::Admin,
               [&trail, shared](const http::Request& req) { return audit_query_route(trail, *shared, req); });
  server.route("GET", "/api/audit/export", http::Role::Admin,
               [&trail, shared](const http::Request& req) { return audit_export_route(trail, *shared, req); });
}

std::function<void(std::string_view, std::string_view, std::string_view, std::string_view)> message_audit_hook(
    AuditRecorder recorder) {
  return [recorder = std::move(recorder)](std::string_view actor, std::string_view action, std::string_view target,
                                          std::string_view detail) {
    AuditRecord r;
    r.actor = std::string(actor);
    auto dot = action.rfind('.');
    r.action = std::string(dot == std::string_view::npos ? action : action.substr(dot + 1));
    auto slash = target.find('/');
    std::string_view type = slash == std::string_view::npos ? std::string_view("message") : target.substr(0, slash);
    r.target_type = type == "inbox" ? "message" : std::string(type);
    r.target_id = std::string(slash == std::string_view::npos ? target : target.substr(slash + 1));
    const std::string_view word = detail.substr(0, detail.find_first_of(": "));
    const bool failed = word == "failed" || word == "error" || word == "conflict" || word == "unavailable" ||
                        word == "retry" || word == "not_replayable";
    r.outcome = failed ? "failure" : "success";
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    str(w, "detail", detail);
    w.EndObject();
    r.detail_json.assign(buf.GetString(), buf.GetSize());
    recorder(std::move(r));
  };
}

admin::FhirAccessHook fhir_access_recorder(AuditRecorder recorder) {
  return [recorder = std::move(recorder)](const http::Request& req, const admin::FhirAccess& a) {
    AuditRecord base = record_for(req, std::string(a.interaction), a.status);
    base.target_type = std::string(a.resource_type);
    base.target_id = std::string(a.resource_id);
    if (a.person_ids.empty()) {
      recorder(std::move(base));
      return;
    }
    for (const auto& person : a.person_ids) {
      AuditRecord r = base;
      r.person_id = person;
      recorder(std::move(r));
    }
  };
}

}  // namespace phrgate::audit
