// Implementation of the daemon's HTTP routes (see admin_routes.h).
#include "gateway/daemon/admin_routes.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace phrgate::daemon {
namespace {

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

}  // namespace

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
    w.EndObject();
  }
  w.EndArray();
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
