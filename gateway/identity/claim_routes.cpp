// Handlers of the claim code HTTP API (see claim_routes.h): JSON in and out via RapidJSON,
// the logic in ClaimCodeBook. The code appears only in the 201 answer to its issue (with
// Cache-Control: no-store). Logs name the claim id and the token, never the code, the
// identifier or the person.
#include "gateway/identity/claim_routes.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "gateway/identity/identity_http.h"

namespace phrgate::identity {
namespace {

using http_util::JsonWriter;
using http_util::put;
using http_util::put_int;
using http_util::json_response;
using http_util::object_body;
using http_util::string_member;
using http_util::actor_of;

// Issuing and revoking change no link; they reach the hook (the daemon's audit trail) as
// "claim_issue" / "claim_revoke" with the identifier's person, when it has one.
void audit_claim(const IdentityDecisionHook& hook, const char* action, const std::string& actor,
                 std::string person_id) {
  if (!hook) return;
  IdentityDecision d;
  d.action = action;
  d.actor = actor;
  d.person_id = std::move(person_id);
  hook(d);
}

http::Response issue(PersonIndex& index, ClaimCodeBook& book, const IdentityDecisionHook& hook,
                     const http::Request& req) {
  http::Response error;
  auto body = object_body(req, error);
  if (!body) return error;
  const SourceIdentifier id{string_member(*body, "system"), string_member(*body, "value")};
  if (id.system.empty() || id.value.empty())
    return http::operation_outcome(400, "required", "system and value (strings) are required");
  const IssuedClaim claim = book.issue(index, id, actor_of(req));
  if (claim.status == IssuedClaim::Status::UnknownIdentifier)
    return http::operation_outcome(404, "not-found", "The identifier is not known to the person index");
  audit_claim(hook, "claim_issue", actor_of(req), index.person_of(id).value_or(""));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put_int(w, "id", claim.id);
  put(w, "code", claim.code);
  put_int(w, "expires_ms", claim.expires_ms);
  put_int(w, "replaced", claim.replaced);
  w.EndObject();
  http::Response r = json_response(201, buf);
  r.headers.push_back({"Location", "/api/identity/claims/" + std::to_string(claim.id)});
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

http::Response list(ClaimCodeBook& book, const http::Request& req) {
  constexpr int64_t kDefaultCount = 50, kMaxCount = 500;
  std::optional<ClaimState> state;
  if (const std::string* s = req.param("status"); s && !s->empty()) {
    state = parse_claim_state(*s);
    if (!state) return http::operation_outcome(400, "invalid", "status must be active, expired, redeemed or revoked");
  }
  const auto count = http_util::count_param(req, "_count", kDefaultCount);
  const auto offset = http_util::count_param(req, "_offset", 0);
  if (!count || !offset) return http::operation_outcome(400, "invalid", "_count and _offset must be non-negative integers");
  const ClaimPage page = book.list(state, *offset, std::min(*count, kMaxCount));
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put_int(w, "total", page.total);
  w.Key("items");
  w.StartArray();
  for (const auto& c : page.items) {
    w.StartObject();
    put_int(w, "id", c.id);
    put(w, "status", to_string(c.state));
    // The identifier as the review list and person view already show it to operators.
    w.Key("identifier");
    w.StartObject();
    put(w, "system", c.identifier.system);
    put(w, "value", c.identifier.value);
    w.EndObject();
    put(w, "issued_by", c.issued_by);
    put_int(w, "issued_ms", c.issued_ms);
    put_int(w, "expires_ms", c.expires_ms);
    if (c.closed_ms) {
      put(w, "closed_by", c.closed_by);
      put_int(w, "closed_ms", c.closed_ms);
    }
    if (!c.person_id.empty()) put(w, "person_id", c.person_id);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, buf);
}

http::Response revoke(ClaimCodeBook& book, const IdentityDecisionHook& hook, const http::Request& req) {
  const auto id = http_util::path_id(req);
  if (!id) return http::operation_outcome(404, "not-found", "No claim with this id");
  switch (book.revoke(*id, actor_of(req))) {
    case RevokeStatus::NotFound: return http::operation_outcome(404, "not-found", "No claim with this id");
    case RevokeStatus::NotActive:
      return http::operation_outcome(409, "conflict", "The claim is no longer active (redeemed or revoked)");
    case RevokeStatus::Ok: break;
  }
  audit_claim(hook, "claim_revoke", actor_of(req), {});
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put_int(w, "id", *id);
  put(w, "status", "revoked");
  w.EndObject();
  return json_response(200, buf);
}

http::Response redeem(PersonIndex& index, ClaimCodeBook& book, const IdentityDecisionHook& hook,
                      const http::Request& req) {
  http::Response error;
  auto body = object_body(req, error);
  if (!body) return error;
  const std::string code = string_member(*body, "code"), person_id = string_member(*body, "person_id");
  if (code.empty() || person_id.empty())
    return http::operation_outcome(400, "required", "code and person_id (strings) are required");
  const ClaimRedemption r = book.redeem(index, code, person_id);
  using S = ClaimRedemption::Status;
  switch (r.status) {
    case S::UnknownPerson: return http::operation_outcome(422, "not-found", "No person with this id");
    case S::Refused:
      return http::operation_outcome(
          400, "invalid", "The code is not valid: it may be mistyped, expired, revoked or already used");
    case S::Throttled: {
      http::Response t = http::operation_outcome(429, "throttled", "Too many wrong codes for this person; try later");
      t.headers.push_back({"Retry-After", std::to_string(r.retry_after_s)});
      return t;
    }
    case S::Conflict:
      return http::operation_outcome(409, "conflict", "The identifier is being changed; try again");
    case S::Linked:
    case S::Unchanged: break;
  }
  if (hook) {
    IdentityDecision d;
    d.action = r.status == S::Linked ? r.action : "claim";
    d.review_id = r.review_id;
    d.actor = r.actor;
    d.person_id = r.person_id;
    d.from_person = r.from_person;
    d.identifier = r.identifier;
    hook(d);
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  put(w, "status", r.status == S::Linked ? "linked" : "unchanged");
  put(w, "person_id", r.person_id);
  w.EndObject();
  return json_response(200, buf);
}

}  // namespace

void add_claim_routes(http::HttpServer& server, PersonIndex& index, ClaimCodeBook& book,
                      IdentityDecisionHook after_decision) {
  using http::Role;
  server.route("POST", "/api/identity/claims", Role::Operator, [&index, &book, after_decision](const http::Request& req) {
    return issue(index, book, after_decision, req);
  });
  server.route("GET", "/api/identity/claims", Role::Operator,
               [&book](const http::Request& req) { return list(book, req); });
  server.route("DELETE", "/api/identity/claims/{id}", Role::Operator,
               [&book, after_decision](const http::Request& req) { return revoke(book, after_decision, req); });
  server.route("POST", "/api/identity/claims/redeem", Role::Phr,
               [&index, &book, after_decision](const http::Request& req) {
                 return redeem(index, book, after_decision, req);
               });
}

}  // namespace phrgate::identity
