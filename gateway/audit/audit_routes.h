// The audit trail's HTTP face and the daemon's wiring helpers:
//   GET /api/audit?actor=&action=&person=&since=&until=&limit=&cursor=   (Role::Admin)
//   GET /api/audit/export?since=&until=&limit=&cursor=  -> FHIR R4 Bundle of AuditEvent
// Both are themselves recorded (audit-query, audit-export). Also: the FhirReadApi hook that
// records every read of a person's records. Never logs or echoes query values.
#pragma once

#include <string>

#include "gateway/admin/fhir_read_api.h"
#include "gateway/admin/http_server.h"
#include "gateway/audit/audit_trail.h"

namespace phrgate::audit {

struct AuditRoutesOptions {
  std::string observer = "phrgate";  // AuditEvent.source.observer.display
  int64_t default_limit = 100, max_limit = 1000;          // GET /api/audit
  int64_t export_default_limit = 1000, export_max_limit = 10000;  // GET /api/audit/export
};

void add_audit_routes(http::HttpServer& server, AuditTrail& trail, AuditRoutesOptions options = {});

// GET /api/audit and /api/audit/export as plain handlers (tests call them directly).
http::Response audit_query_route(AuditTrail& trail, const AuditRoutesOptions& options, const http::Request& req);
http::Response audit_export_route(AuditTrail& trail, const AuditRoutesOptions& options, const http::Request& req);

// The hook for FhirReadApiOptions::on_access: one record per person served (one without a
// person when none was), actions "read" / "search" / "everything".
admin::FhirAccessHook fhir_access_recorder(AuditRecorder recorder);

// Adapts the message routes' audit hook (actor, "message.replay", "inbox/17", detail) to the
// trail: action "replay", target type "message", id "17", outcome from the detail's first word.
std::function<void(std::string_view, std::string_view, std::string_view, std::string_view)> message_audit_hook(
    AuditRecorder recorder);

// A record of `action` by the request's principal, from the request's peer, with the
// outcome taken from an HTTP status (2xx/3xx success, 4xx failure, 5xx error).
AuditRecord record_for(const http::Request& req, std::string action, int status);
std::string outcome_of_status(int status);

}  // namespace phrgate::audit
