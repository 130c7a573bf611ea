// POST /fhir and POST /fhir/{type} (see fhir_push_routes.h).
// Waiting: route handlers are synchronous (http_types.h), so a handler blocks its I/O thread
// while the inbox commits (one group commit: normally a few milliseconds, bounded by
// commit_timeout). The daemon runs two I/O threads, so other requests keep being served
// during a commit; the conversion used as validation is pure CPU work on the same thread.
#include "adapters/fhir/fhir_push_routes.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <future>

#include "adapters/fhir/fhir_resource_types.h"
#include "adapters/fhir/fhir_to_phr.h"
#include "adapters/fhir/fhir_validate.h"
#include "gateway/core/log.h"
#include "gateway/core/resource_id.h"
#include "gateway/mapping/code_map.h"
#include "gateway/queue/inbox.h"

namespace phrgate::fhir {
namespace {

enum class Target { Bundle, OneResource };

bool acceptable_content_type(const http::Request& req) {
  const std::string* ct = req.header("content-type");
  if (!ct) return false;
  std::string media = ct->substr(0, ct->find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  for (char& c : media) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return media == "application/fhir+json" || media == "application/json";
}

// Bundle.identifier, else Type/id/_history/versionId, else a hash of the body.
std::string control_id_for(const PayloadSummary& s, std::string_view body) {
  if (!s.identifier.empty()) return s.identifier;
  if (!s.id.empty() && !s.version_id.empty()) return s.resource_type + "/" + s.id + "/_history/" + s.version_id;
  return "sha256:" + sha256_hex(body);
}

// Submits `msg` and waits for the inbox's verdict (Failed after the timeout).
queue::SubmitResult commit(queue::Inbox& inbox, queue::InboxMessage msg, std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<queue::SubmitResult>>();
  std::future<queue::SubmitResult> verdict = promise->get_future();
  inbox.submit(std::move(msg), [promise](queue::SubmitResult r, int64_t) { promise->set_value(r); });
  if (verdict.wait_for(timeout) != std::future_status::ready) return queue::SubmitResult::Failed;
  return verdict.get();
}

class PushReceiver {
 public:
  explicit PushReceiver(FhirPushOptions o) : opt_(std::move(o)) {}

  http::Response handle(const http::Request& req, Target target) {
    if (opt_.shutting_down && opt_.shutting_down->load())
      return http::operation_outcome(503, "transient", "The gateway is stopping; retry later");
    if (!acceptable_content_type(req))
      return http::operation_outcome(415, "not-supported",
                                     "Content-Type must be application/fhir+json or application/json");
    PayloadSummary summary;
    std::string error;
    if (!check_fhir_payload(req.body, summary, error)) return reject(req, 400, "structure", error);
    if (target == Target::Bundle) {
      if (summary.resource_type != "Bundle" || (summary.bundle_type != "batch" && summary.bundle_type != "transaction"))
        return reject(req, 400, "invalid", "POST /fhir takes a Bundle of type batch or transaction");
    } else {
      const std::string& type = req.path_params.at("type");
      if (!is_r4_resource_type(type)) return reject(req, 404, "not-supported", "Unknown resource type in the URL");
      if (type == "Bundle") return reject(req, 400, "invalid", "Send Bundles to POST /fhir");
      if (summary.resource_type != type)
        return reject(req, 400, "invalid", "The resource's resourceType does not match the URL");
    }
    // The converter is the rest of the validation (Patient identifiers, references to
    // Patients outside the payload); its ids give the Location values.
    FhirConvertStats stats;
    pipeline::ConvertInput in;
    in.payload = req.body;
    in.source = req.principal;
    std::shared_ptr<const mapping::CodeMaps> maps = opt_.code_maps ? opt_.code_maps() : nullptr;
    in.code_maps = maps.get();
    for (const auto& m : convert_fhir(in, &stats))
      if (!m.ok) return reject(req, 422, "processing", m.error);

    queue::InboxMessage msg;
    msg.source = req.principal;
    msg.sender = req.principal;
    msg.control_id = control_id_for(summary, req.body);
    msg.message_type = summary.resource_type == "Bundle" ? "Bundle/" + summary.bundle_type : summary.resource_type;
    msg.content_type = std::string(kFhirContentType);
    msg.payload = req.body;
    const std::string control_id = msg.control_id;
    const queue::SubmitResult r = commit(opt_.inbox, std::move(msg), opt_.commit_timeout);
    if (r == queue::SubmitResult::Failed) {
      log::error("fhir_push.commit_failed", {{"sender", req.principal}, {"control_id", control_id}});
      return http::operation_outcome(503, "transient", "The payload could not be stored; retry later");
    }
    if (opt_.notify_pipeline && r == queue::SubmitResult::Committed) opt_.notify_pipeline();
    log::info("fhir_push.committed", {{"sender", req.principal}, {"control_id", control_id},
                                      {"duplicate", r == queue::SubmitResult::Duplicate ? "true" : "false"},
                                      {"resources", std::to_string(stats.resources_kept)}});
    return target == Target::Bundle ? bundle_response(summary, stats) : created(stats);
  }

 private:
  // 4xx with an OperationOutcome; the payload is kept as a Rejected row for an operator.
  http::Response reject(const http::Request& req, int status, std::string_view code, const std::string& why) {
    queue::InboxMessage msg;
    msg.source = req.principal;
    msg.sender = req.principal;
    msg.message_type = "fhir-push";
    msg.content_type = std::string(kFhirContentType);
    msg.payload = req.body;
    msg.status = queue::InboxStatus::Rejected;
    msg.error = why;
    const bool kept = commit(opt_.inbox, std::move(msg), opt_.commit_timeout) == queue::SubmitResult::Committed;
    log::warn("fhir_push.rejected", {{"sender", req.principal}, {"status", std::to_string(status)}, {"error", why},
                                     {"kept", kept ? "true" : "false"}});
    return http::operation_outcome(status, code, why);
  }

  static http::Response created(const FhirConvertStats& stats) {
    http::Response r;
    r.status = 201;
    r.content_type = "application/fhir+json";
    if (!stats.locations.empty()) r.headers.emplace_back("Location", "/fhir/" + stats.locations.front().second);
    r.body = R"({"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational",)"
             R"("diagnostics":"Committed; conversion into the PHR follows asynchronously"}]})";
    return r;
  }

  // batch-response / transaction-response: one entry per request entry, in order.
  static http::Response bundle_response(const PayloadSummary& s, const FhirConvertStats& stats) {
    std::size_t entries = 0;
    for (const auto& e : s.entries) entries = std::max(entries, e.entry_index + 1);
    entries = std::max(entries, s.entries.size() + s.skipped_entries);
    std::vector<std::string> location(entries), status(entries, "405 Method Not Allowed");
    for (const auto& e : s.entries) status[e.entry_index] = "200 OK";  // dropped types: accepted, not kept
    for (const auto& [index, loc] : stats.locations) {
      status[index] = "201 Created";
      location[index] = loc;
    }
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("resourceType");
    w.String("Bundle");
    w.Key("type");
    w.String(s.bundle_type == "transaction" ? "transaction-response" : "batch-response");
    w.Key("entry");
    w.StartArray();
    for (std::size_t i = 0; i < entries; ++i) {
      w.StartObject();
      w.Key("response");
      w.StartObject();
      w.Key("status");
      w.String(status[i].c_str());
      if (!location[i].empty()) {
        w.Key("location");
        w.String(location[i].c_str());
      }
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    http::Response r;
    r.status = 200;
    r.content_type = "application/fhir+json";
    r.body.assign(buf.GetString(), buf.GetSize());
    return r;
  }

  FhirPushOptions opt_;
};

}  // namespace

void add_fhir_push_routes(http::HttpServer& server, FhirPushOptions options) {
  auto receiver = std::make_shared<PushReceiver>(std::move(options));
  server.route("POST", "/fhir", http::Role::Ingest,
               [receiver](const http::Request& req) { return receiver->handle(req, Target::Bundle); });
  server.route("POST", "/fhir/{type}", http::Role::Ingest,
               [receiver](const http::Request& req) { return receiver->handle(req, Target::OneResource); });
}

}  // namespace phrgate::fhir
