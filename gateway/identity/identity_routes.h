// The person index's HTTP API for operators (Role::Operator), registered by the daemon's
// add_admin_routes with one call:
//   GET  /api/identity/review?_offset=&_count=   held records with candidates and scores
//   POST /api/identity/review/{id}/link  {"person_id": "..."}
//   POST /api/identity/review/{id}/reject
//   POST /api/identity/unlink  {"system": "...", "value": "...", "target_person": "..."?}
//   POST /api/identity/merge   {"surviving": "...", "merged": "..."}
//   GET  /api/identity/persons/{id}   identifiers with link reasons, and history
// Errors are OperationOutcomes that never echo identifiers, names or person ids.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "gateway/admin/http_server.h"
#include "gateway/identity/person_index.h"

namespace phrgate::identity {

// What an operator decided, for the daemon (audit trail, replay of held messages).
struct IdentityDecision {
  std::string action;     // "link", "reject", "unlink", "merge"
  int64_t review_id = 0;  // for link and reject
  std::string actor;      // the token's name
  std::string person_id;  // the person the identifier(s) now belong to
  std::string from_person;      // unlink: the identifier's previous person; merge: the merged one
  SourceIdentifier identifier;  // unlink: the identifier moved
};
using IdentityDecisionHook = std::function<void(const IdentityDecision&)>;

// `after_decision` (optional) runs on the HTTP thread after each successful action.
void add_identity_routes(http::HttpServer& server, PersonIndex& index, IdentityDecisionHook after_decision = {});

}  // namespace phrgate::identity
