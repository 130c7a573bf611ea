// AuditRecord: one entry of the audit trail (who did what to whose records, with what
// outcome), and AuditRecorder, the callback the daemon hands to its parts (FHIR read API,
// message and identity routes, mapping reload) so they can record without knowing SQLite.
// Header-only, no dependencies. Never put message content or demographics in `detail_json`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace phrgate::audit {

struct AuditRecord {
  int64_t at_ms = 0;        // Unix epoch milliseconds; 0: the time record() is called
  std::string actor;        // the API token's name (Request::principal), or "system" / "signal"
  std::string role;         // empty: filled from the actor's configured role
  std::string action;       // "read" | "search" | "everything" | "replay" | "discard" | "link" |
                            // "unlink" | "merge" | "reload" | "audit-query" | "audit-export"
  std::string target_type;  // "Patient", "Observation", "message", "mappings", ...
  std::string target_id;    // resource id, inbox message id, mapping version ("" if none)
  std::string person_id;    // the person whose records were touched ("" if none)
  std::string outcome = "success";  // "success" | "failure" (refused, 4xx) | "error" (5xx)
  std::string detail_json;  // a JSON object with non-PHI detail, e.g. {"status":200}
  std::string client;       // the peer address, "127.0.0.1:54321"
};

// Queues a record for the audit trail; cheap and non-blocking in the normal case.
using AuditRecorder = std::function<void(AuditRecord)>;

}  // namespace phrgate::audit
