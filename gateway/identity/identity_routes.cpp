// Handlers of the person index HTTP API (see identity_routes.h). JSON in and out via
// RapidJSON; stored explanations are embedded as raw JSON. Each decision is logged with the
// operator and the review id or action only (no identifiers, no names).
#include "gateway/identity/identity_routes.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "gateway/core/log.h"
#include "gateway/identity/identity_http.h"

namespace phrgate::identity {
namespace {

using http_util::JsonWriter;
using http_util::put;
using http_util::json_response;
using http_util::object_body;
using http_util::string_member;
using http_util::actor_of;

// Embeds stored JSON; falls back to an empty object if it does not parse.
void put_raw(JsonWriter& w, const char* key, const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  w.Key(key);
  if (d.HasParseError()) {
    w.StartObject();
    w.EndObject();
  } else {
    d.Accept(w);
  }
}

http::Response action_response(const ActionResult& r, const char* action, const std::string& actor, int64_t review_id,
                               const IdentityDecisionHook& hook, std::string from_person = {},
                               SourceIdentifier identifier = {}) {
  switch (r.status) {
    case ActionStatus::NotFound: return http::operation_outcome(404, "not-found", r.message);
    case ActionStatus::UnknownPerson: return http::operation_outcome(422, "not-found", r.message);
    case ActionStatus::Conflict: return http::operation_outcome(409, "conflict", r.message);
    case ActionStatus::Ok: break;
  }
  log::info("identity.decision", {{"action", action}, {"actor", actor},
                                  {"review_id", review_id ? std::to_string(review_id) : std::string("-")}});
  if (hook) hook(IdentityDecision{action, review_id, actor, r.person_id, std::move(from_person), std::move(identifier)});
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put(w, "status", "ok");
  put(w, "person_id", r.person_id);
  w.EndObject();
  return json_response(200, buf);
}

http::Response list_review(PersonIndex& index, const http::Request& req) {
  constexpr int64_t kDefaultCount = 50, kMaxCount = 500;
  const auto count = http_util::count_param(req, "_count", kDefaultCount);
  const auto offset = http_util::count_param(req, "_offset", 0);
  if (!count || !offset)
    return http::operation_outcome(400, "invalid", "_count and _offset must be non-negative integers");
  const ReviewPage page = index.list_review(*offset, std::min(*count, kMaxCount));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("total");
  w.Int64(page.total);
  w.Key("items");
  w.StartArray();
  for (const auto& item : page.items) {
    w.StartObject();
    w.Key("id");
    w.Int64(item.id);
    w.Key("identifier");
    w.StartObject();
    put(w, "system", item.identifier.system);
    put(w, "value", item.identifier.value);
    w.EndObject();
    w.Key("created_ms");
    w.Int64(item.created_ms);
    w.Key("candidates");
    w.StartArray();
    for (const auto& c : item.candidates) {
      w.StartObject();
      put(w, "person_id", c.person_id);
      w.Key("score");
      w.Double(c.score);
      put_raw(w, "explanation", c.explanation);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, buf);
}

http::Response get_person(PersonIndex& index, const http::Request& req) {
  const std::string& id = req.path_params.at("id");
  const auto view = index.person(id);
  if (!view) return http::operation_outcome(404, "not-found", "No person with this id");
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put(w, "person_id", view->person_id);
  if (!view->merged_into.empty()) put(w, "merged_into", view->merged_into);
  w.Key("created_ms");
  w.Int64(view->created_ms);
  w.Key("identifiers");
  w.StartArray();
  for (const auto& li : view->identifiers) {
    w.StartObject();
    put(w, "system", li.identifier.system);
    put(w, "value", li.identifier.value);
    put(w, "actor", li.actor);
    w.Key("linked_ms");
    w.Int64(li.linked_ms);
    put_raw(w, "reason", li.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("history");
  w.StartArray();
  for (const auto& h : index.history_of(id)) {
    w.StartObject();
    w.Key("at_ms");
    w.Int64(h.at_ms);
    put(w, "actor", h.actor);
    put(w, "action", h.action);
    if (!h.person_id.empty()) put(w, "person_id", h.person_id);
    if (!h.other_person_id.empty()) put(w, "other_person_id", h.other_person_id);
    if (!h.identifier.system.empty()) {
      w.Key("identifier");
      w.StartObject();
      put(w, "system", h.identifier.system);
      put(w, "value", h.identifier.value);
      w.EndObject();
    }
    put_raw(w, "detail", h.detail);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, buf);
}

}  // namespace

void add_identity_routes(http::HttpServer& server, PersonIndex& index, IdentityDecisionHook after_decision) {
  using http::Role;
  server.route("GET", "/api/identity/review", Role::Operator,
               [&index](const http::Request& req) { return list_review(index, req); });
  server.route("POST", "/api/identity/review/{id}/link", Role::Operator, [&index, after_decision](const http::Request& req) {
    const auto id = http_util::path_id(req);
    if (!id) return http::operation_outcome(404, "not-found", "No review item with this id");
    http::Response error;
    auto body = object_body(req, error);
    if (!body) return error;
    const std::string person_id = string_member(*body, "person_id");
    if (person_id.empty()) return http::operation_outcome(400, "required", "person_id (string) is required");
    const std::string actor = actor_of(req);
    return action_response(index.link(*id, person_id, actor), "link", actor, *id, after_decision);
  });
  server.route("POST", "/api/identity/review/{id}/reject", Role::Operator, [&index, after_decision](const http::Request& req) {
    const auto id = http_util::path_id(req);
    if (!id) return http::operation_outcome(404, "not-found", "No review item with this id");
    const std::string actor = actor_of(req);
    return action_response(index.reject(*id, actor), "reject", actor, *id, after_decision);
  });
  server.route("POST", "/api/identity/unlink", Role::Operator, [&index, after_decision](const http::Request& req) {
    http::Response error;
    auto body = object_body(req, error);
    if (!body) return error;
    const SourceIdentifier ident{string_member(*body, "system"), string_member(*body, "value")};
    if (ident.system.empty() || ident.value.empty())
      return http::operation_outcome(400, "required", "system and value (strings) are required");
    const std::string actor = actor_of(req);
    const std::string from = index.person_of(ident).value_or(std::string());
    return action_response(index.unlink(ident, actor, string_member(*body, "target_person")), "unlink", actor, 0,
                           after_decision, from, ident);
  });
  server.route("POST", "/api/identity/merge", Role::Operator, [&index, after_decision](const http::Request& req) {
    http::Response error;
    auto body = object_body(req, error);
    if (!body) return error;
    const std::string surviving = string_member(*body, "surviving"), merged = string_member(*body, "merged");
    if (surviving.empty() || merged.empty())
      return http::operation_outcome(400, "required", "surviving and merged (person ids) are required");
    const std::string actor = actor_of(req);
    return action_response(index.merge(surviving, merged, actor), "merge", actor, 0, after_decision, merged);
  });
  server.route("GET", "/api/identity/persons/{id}", Role::Operator,
               [&index](const http::Request& req) { return get_person(index, req); });
}

}  // namespace phrgate::identity
