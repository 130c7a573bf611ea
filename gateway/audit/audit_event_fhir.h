// Audit records as FHIR R4 AuditEvent resources, for GET /api/audit/export (a Bundle of type
// "collection"). Codes come from the FHIR code systems audit-event-type ("rest"),
// restful-interaction (read, search-type, operation), audit-event-action (C/R/U/D/E),
// audit-event-outcome (0/4/8), security-source-type and audit-entity-type.
// Pure functions; never adds anything beyond what the record holds.
#pragma once

#include <string>
#include <vector>

#include "gateway/audit/audit_trail.h"

namespace phrgate::audit {

// One AuditEvent, as a JSON object text. `observer` names this gateway (source.observer).
std::string audit_event_json(const StoredAuditRecord& r, const std::string& observer);

// A Bundle (type collection) of AuditEvents; `next_url` (optional) becomes a "next" link.
std::string audit_event_bundle(const std::vector<StoredAuditRecord>& records, const std::string& observer,
                               const std::string& timestamp, const std::string& next_url);

}  // namespace phrgate::audit
