// HTTP face of the claim codes (claim_codes.h), registered by the daemon next to the identity
// routes with one call:
//   POST   /api/identity/claims         Operator  {"system","value"} -> 201, the code shown once
//   GET    /api/identity/claims?status=&_offset=&_count=   Operator  (never a code)
//   DELETE /api/identity/claims/{id}    Operator  revokes an active code
//   POST   /api/identity/claims/redeem  Phr (the PHR backend)  {"code","person_id"}
// Errors are OperationOutcomes that never echo codes, identifiers or person ids; a refused
// code says nothing about whether it ever existed.
#pragma once

#include "gateway/admin/http_server.h"
#include "gateway/identity/claim_codes.h"
#include "gateway/identity/identity_routes.h"
#include "gateway/identity/person_index.h"

namespace phrgate::identity {

// `after_decision` (optional) is the same hook the identity routes call: a redeemed code that
// moved an identifier reports action "link" (held record, review_id set) or "unlink"
// (from_person, identifier set), so the daemon audits it and moves the records; a code
// redeemed for the identifier's own person reports "claim" (audit only).
void add_claim_routes(http::HttpServer& server, PersonIndex& index, ClaimCodeBook& book,
                      IdentityDecisionHook after_decision = {});

}  // namespace phrgate::identity
